"""What the two front ends (the ``gobuild`` command and the doit tasks) share: the
options they both take, declared once (:mod:`.options`), and the terminal output of
long-running work (:mod:`.console`).

May import: the feature rooms' report types and text (gobuild.checks, gobuild.toolchain),
gobuild.project, the foundation, rich. Not argparse's or doit's front ends themselves.
"""
