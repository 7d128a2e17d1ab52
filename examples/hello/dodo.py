"""doit tasks for this Go module, provided by gobuild: run `doit list` to see them."""
from gobuild.dodo import *  # noqa: F403 - DOIT_CONFIG and the task_* functions
