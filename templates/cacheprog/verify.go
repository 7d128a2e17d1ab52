//go:build ignore

// A GOCACHEPROG program that stands between the go command and another one (the plugin
// that really stores the cache, such as tailscale's go-cache-plugin over S3) and checks
// every object the plugin serves before the go command may use it. gobuild builds it
// with the project's pinned Go and sets
//
//	GOCACHEPROG="verify -- PLUGIN [ARG...]"
//
// Why: the go command reads compiled package archives from the cache with GetFile,
// which checks the file's size and the build ID at its head but never its SHA-256, and
// a plugin need check nothing; so a tampered or rotten object in a shared remote cache
// goes into the binary. Every object the go command stores has as its output ID the
// SHA-256 of its bytes (cache.Put computes it), so the check needs nothing but the file.
//
// What it does: it starts PLUGIN as a child and copies the go command's requests to it
// byte for byte (JSON lines on stdin; a "put" with BodySize > 0 is followed, after an
// empty line, by its body as one JSON string line of base64, which is streamed through
// without being decoded), and copies the plugin's responses back, except for the hits
// of "get" requests (Miss false, a DiskPath): the file at DiskPath is read and its
// SHA-256 compared with OutputID, its size with Size. If they differ, or the file
// cannot be read, the go command is answered a miss ({"ID":N,"Miss":true}), so it
// rebuilds the action and puts the right bytes. Responses may reach the go command in
// any order (it matches them by ID), so a hit being hashed holds up no other response;
// at most GOMAXPROCS hits are hashed at a time.
//
// A file named after the output ID whose bytes do not hash to that name is removed
// (when it is still the file that was hashed): it is wrong by its own name, so nobody
// can want it. With go-cache-plugin this is the staged copy in its --cache-dir
// (output/<xx>/<output-id>, which it reports as DiskPath for local and remote hits
// alike), and removing it is what repairs the cache: its local store skips writing an
// object that is present with the expected size, so without the removal the go
// command's put of the rebuilt bytes would keep the bad copy (rejected again at every
// build) and the plugin would upload that bad copy back to the bucket, while after it
// the put stages the right bytes and the plugin's conditional upload replaces an
// object whose ETag differs. An action record whose object is missing is a miss to
// the plugin (it fetches again) and is pruned by its cleanup. Any other file is left
// alone.
//
// With -probe URL, it only asks whether the remote answers: one HEAD request (the
// environment's proxy settings apply, as they do to the plugin), three seconds at most;
// any HTTP answer, whatever its status, exits 0, no answer exits 1 with the reason on
// stderr. The Makefile and the Dockerfile's build stage ask it before they name the
// plugin in GOCACHEPROG, so a remote that is down costs one warning, not a slow build.
//
// With -stats FILE, it appends to FILE one line of JSON at the end, the go command's
// own lookups as this program answered them: {"gets":N,"hits":N,"misses":N,"puts":N,
// "errors":N,"rejected":N} (misses include the rejected hits; errors are failed gets).
// Lines from go commands running at once do not mix: each is one small append.
//
// At the end (after a "close" or the end of stdin, once the plugin has exited), if
// anything was rejected, one line on stderr says how many. If the plugin cannot be
// started, or exits before the go command closed the cache, or answers with something
// that is not JSON, this exits 1 with a message (the go command then fails, saying the
// GOCACHEPROG program exited). The plugin's stderr is this program's.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

const prefix = "gobuild-cacheprog"

// request holds what is read of the go command's requests (cmd/go/internal/cacheprog);
// they are forwarded as they came.
type request struct {
	ID       int64
	Command  string
	BodySize int64
}

// response holds what is read of the plugin's responses; they are forwarded as they
// came, or replaced by a miss.
type response struct {
	ID       int64
	Err      string
	Miss     bool
	OutputID []byte // base64 in JSON
	Size     int64
	DiskPath string
}

func main() {
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: %s [-stats FILE] -- PLUGIN [ARG...]  (as GOCACHEPROG)\n", prefix)
	}
	stats := flag.String("stats", "", "append the lookup counts to this file at the end")
	probeURL := flag.String("probe", "", "only say whether URL answers (exit 0) or not (exit 1)")
	flag.Parse()
	if *probeURL != "" {
		if err := probe(*probeURL); err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", prefix, err)
			os.Exit(1)
		}
		return
	}
	if err := run(flag.Args(), *stats); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prefix, err)
		os.Exit(1)
	}
}

// probe makes one HEAD request to url and reports whether anything answered.
func probe(url string) error {
	client := &http.Client{
		Timeout: 3 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Head(url)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

type proxy struct {
	plugin  string
	toChild io.WriteCloser

	outMu sync.Mutex // one response at a time to the go command
	out   io.Writer

	mu     sync.Mutex
	gets   map[int64]bool // get requests sent to the plugin and not yet answered
	ending bool           // a close was sent, or the go command's stdin ended

	hashing  chan struct{} // a slot per hit being hashed
	pending  sync.WaitGroup
	rejected atomic.Int64

	getCount, hitCount, missCount, putCount, errCount atomic.Int64
}

func run(argv []string, stats string) error {
	if len(argv) == 0 {
		flag.Usage()
		return errors.New("no cache program given after --")
	}
	child := exec.Command(argv[0], argv[1:]...)
	child.Stderr = os.Stderr
	toChild, err := child.StdinPipe()
	if err != nil {
		return err
	}
	fromChild, err := child.StdoutPipe()
	if err != nil {
		return err
	}
	if err := child.Start(); err != nil {
		return fmt.Errorf("cannot start the cache program: %v", err)
	}
	p := &proxy{
		plugin:  argv[0],
		toChild: toChild,
		out:     os.Stdout,
		gets:    map[int64]bool{},
		hashing: make(chan struct{}, max(1, runtime.GOMAXPROCS(0))),
	}
	go p.forwardRequests(os.Stdin)
	readErr := p.forwardResponses(fromChild)
	p.pending.Wait() // every verified hit answered before stdout closes
	if stats != "" {
		defer p.writeStats(stats)
	}
	if readErr != nil {
		child.Process.Kill()
		child.Wait()
		p.report()
		return readErr
	}
	waitErr := child.Wait()
	p.report()
	p.mu.Lock()
	ending := p.ending
	p.mu.Unlock()
	if !ending {
		return fmt.Errorf("the cache program %s exited before the go command closed the cache (%s)",
			p.plugin, status(waitErr))
	}
	if waitErr != nil {
		return fmt.Errorf("the cache program %s: %s", p.plugin, status(waitErr))
	}
	return nil
}

// writeStats appends the counts to path (best effort: the build's result does not
// depend on them).
func (p *proxy) writeStats(path string) {
	line, _ := json.Marshal(map[string]int64{
		"gets": p.getCount.Load(), "hits": p.hitCount.Load(), "misses": p.missCount.Load(),
		"puts": p.putCount.Load(), "errors": p.errCount.Load(), "rejected": p.rejected.Load(),
	})
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prefix, err)
		return
	}
	defer f.Close()
	f.Write(append(line, '\n'))
}

func status(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

func (p *proxy) report() {
	if n := p.rejected.Load(); n > 0 {
		fmt.Fprintf(os.Stderr, "%s: rejected %d corrupt cache object(s) (sha256 did not match the output ID); the go command rebuilt them\n", prefix, n)
	}
}

// forwardRequests copies the go command's stdin to the plugin unchanged, noting the IDs
// of get requests and whether a close went by; at the end of stdin it closes the
// plugin's stdin. It stops at a failed write too: the plugin is gone, which its stdout
// reports (an error unless a close or the end of stdin came first).
func (p *proxy) forwardRequests(r io.Reader) {
	defer p.toChild.Close()
	in := bufio.NewReaderSize(r, 64<<10)
	bodyNext := false // a put's body is the next line that is not empty
	for {
		chunk, err := in.ReadSlice('\n')
		text := bytes.TrimSpace(chunk)
		line := chunk
		switch {
		case len(chunk) == 0 && err != nil:
			p.end()
			return
		case bodyNext && len(text) > 0:
			// The body: one line of any length, streamed in buffer-sized chunks.
			bodyNext = false
			for err == bufio.ErrBufferFull {
				if _, werr := p.toChild.Write(chunk); werr != nil {
					return
				}
				chunk, err = in.ReadSlice('\n')
			}
			line = chunk
		default:
			if err == bufio.ErrBufferFull { // a request line longer than the buffer
				rest, rerr := in.ReadBytes('\n')
				line = append(append([]byte(nil), chunk...), rest...)
				text, err = bytes.TrimSpace(line), rerr
			}
			var req request
			if len(text) > 0 && json.Unmarshal(text, &req) == nil {
				switch req.Command {
				case "get":
					p.getCount.Add(1)
					p.mu.Lock()
					p.gets[req.ID] = true
					p.mu.Unlock()
				case "put":
					p.putCount.Add(1)
					bodyNext = req.BodySize > 0
				case "close":
					p.end()
				}
			}
		}
		if _, werr := p.toChild.Write(line); werr != nil {
			return
		}
		if err != nil { // the end of stdin after a last line without a newline
			p.end()
			return
		}
	}
}

// end notes that the go command closed the cache (or went away): the plugin may exit.
func (p *proxy) end() {
	p.mu.Lock()
	p.ending = true
	p.mu.Unlock()
}

// forwardResponses copies the plugin's responses to the go command, handing the hits
// of get requests to verify; it returns at the end of the plugin's stdout (nil) or at
// something that is not a response.
func (p *proxy) forwardResponses(r io.Reader) error {
	dec := json.NewDecoder(r)
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return nil
		} else if err != nil {
			return fmt.Errorf("reading the responses of the cache program %s: %v", p.plugin, err)
		}
		var res response
		if err := json.Unmarshal(raw, &res); err != nil {
			return fmt.Errorf("the cache program %s sent %.200s: %v", p.plugin, raw, err)
		}
		p.mu.Lock()
		isGet := p.gets[res.ID]
		delete(p.gets, res.ID)
		p.mu.Unlock()
		if isGet && !res.Miss && res.Err == "" && res.DiskPath != "" {
			p.pending.Add(1)
			go p.verify(raw, res)
			continue
		}
		if isGet {
			switch {
			case res.Err != "":
				p.errCount.Add(1)
			case res.Miss:
				p.missCount.Add(1)
			}
		}
		p.send(raw)
	}
}

func (p *proxy) send(raw []byte) {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	p.out.Write(append(raw, '\n'))
}

// verify answers a get hit: as the plugin did if the file holds the output, else a miss.
func (p *proxy) verify(raw json.RawMessage, res response) {
	defer p.pending.Done()
	p.hashing <- struct{}{}
	good := check(res)
	<-p.hashing
	if good {
		p.hitCount.Add(1)
		p.send(raw)
		return
	}
	p.missCount.Add(1)
	p.rejected.Add(1)
	miss, _ := json.Marshal(struct {
		ID   int64
		Miss bool
	}{res.ID, true})
	p.send(miss)
}

// check reports whether the file at res.DiskPath has res.Size bytes whose SHA-256 is
// res.OutputID. A file named after the output ID that holds other bytes is removed
// (see the top of this file).
func check(res response) bool {
	f, err := os.Open(res.DiskPath)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return false
	}
	sum := h.Sum(nil)
	if bytes.Equal(sum, res.OutputID) {
		return n == res.Size
	}
	if len(res.OutputID) == sha256.Size && filepath.Base(res.DiskPath) == hex.EncodeToString(res.OutputID) {
		// Only if the name still holds the file that was hashed (a plugin that
		// rewrites a staged object renames a new file into place).
		if now, err := os.Lstat(res.DiskPath); err == nil && os.SameFile(info, now) {
			os.Remove(res.DiskPath)
		}
	}
	return false
}
