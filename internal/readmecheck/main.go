// Command readmecheck runs the shell blocks of flexapi's README in order, as
// a reader would paste them after the lines before, in a copy of the
// repository, and checks what they print. CI runs it: go run
// ./internal/readmecheck.
//
// A block may be preceded by an HTML comment of directives, separated by ";":
//
//	<!-- readme: skip REASON -->        not run (needs root, another machine, a long time)
//	<!-- readme: background -->         started and left running; waits for 127.0.0.1:8080,
//	                                    then takes the "export NAME=VALUE" lines it printed
//	<!-- readme: expect TEXT -->        its output must contain TEXT
//	<!-- readme: fresh -->              the background blocks are stopped first
//
// Everything a block starts in the background is stopped at the end.
package main

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// block is a shell block of the README and its directives.
type block struct {
	line       int
	text       string
	skip       string
	background bool
	fresh      bool
	expect     []string
}

var directive = regexp.MustCompile(`^<!-- readme: (.*) -->$`)

func parse(readme string) []block {
	var blocks []block
	lines := strings.Split(readme, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```sh" {
			continue
		}
		b := block{line: i + 1}
		if i > 0 {
			if m := directive.FindStringSubmatch(lines[i-1]); m != nil {
				for _, d := range strings.Split(m[1], ";") {
					d = strings.TrimSpace(d)
					switch {
					case strings.HasPrefix(d, "skip"):
						b.skip = strings.TrimSpace(strings.TrimPrefix(d, "skip"))
					case d == "background":
						b.background = true
					case d == "fresh":
						b.fresh = true
					case strings.HasPrefix(d, "expect "):
						b.expect = append(b.expect, strings.TrimPrefix(d, "expect "))
					}
				}
			}
		}
		var body []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			body = append(body, lines[i])
		}
		b.text = strings.Join(body, "\n") + "\n"
		blocks = append(blocks, b)
	}
	return blocks
}

// runner runs blocks in dir with env, and remembers what runs in the
// background.
type runner struct {
	dir        string
	env        []string
	background []*exec.Cmd
}

func main() {
	root, _ := os.Getwd()
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		fail("%v (run from the repository's root)", err)
	}
	work, err := os.MkdirTemp("", "flexapi-readme-")
	if err != nil {
		fail("%v", err)
	}
	defer os.RemoveAll(work)
	repo := filepath.Join(work, "flexapi")
	if out, err := exec.Command("bash", "-c", `mkdir -p "$1" && git ls-files -z | xargs -0 cp --parents -t "$1"`, "-", repo).CombinedOutput(); err != nil {
		fail("copying the repository: %v\n%s", err, out)
	}
	bin := filepath.Join(work, "bin")
	r := &runner{dir: repo, env: append(os.Environ(), "GOBIN="+bin, "PATH="+bin+":"+os.Getenv("PATH"))}
	defer r.stopBackground()
	ran, skipped := 0, 0
	for _, b := range parse(string(readme)) {
		if b.skip != "" {
			fmt.Printf("README.md:%d: skipped: %s\n", b.line, b.skip)
			skipped++
			continue
		}
		if b.fresh {
			r.stopBackground()
		}
		if err := r.run(b); err != nil {
			r.stopBackground()
			fail("README.md:%d: %v\n--- the block:\n%s", b.line, err, b.text)
		}
		fmt.Printf("README.md:%d: ok\n", b.line)
		ran++
	}
	fmt.Printf("%d passed, 0 failed, %d skipped\n", ran, skipped)
}

func (r *runner) command(text string) *exec.Cmd {
	cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", text)
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that all it starts can be stopped
	return cmd
}

func (r *runner) run(b block) error {
	if b.background {
		return r.start(b)
	}
	cmd := r.command(b.text)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("%v\n--- it printed:\n%s", err, out.String())
		}
	case <-time.After(5 * time.Minute):
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return fmt.Errorf("still running after 5 minutes\n--- it printed:\n%s", out.String())
	}
	for _, want := range b.expect {
		if !strings.Contains(out.String(), want) {
			return fmt.Errorf("its output lacks %q\n--- it printed:\n%s", want, out.String())
		}
	}
	return nil
}

var exportLine = regexp.MustCompile(`^\s*export ([A-Z_]+)=(\S+)$`)

// start runs a block in the background until 127.0.0.1:8080 answers, and
// takes into the environment of the blocks after it the export lines it
// printed.
func (r *runner) start(b block) error {
	cmd := r.command(b.text)
	outFile := filepath.Join(filepath.Dir(r.dir), fmt.Sprintf("background-%d.out", b.line))
	f, err := os.Create(outFile)
	if err != nil {
		return err
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return err
	}
	r.background = append(r.background, cmd)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(50 * time.Millisecond) { // a first go run compiles
		if c, err := net.DialTimeout("tcp", "127.0.0.1:8080", time.Second); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(outFile)
			return fmt.Errorf("nothing listens on 127.0.0.1:8080 after 3 minutes\n--- it printed:\n%s", out)
		}
	}
	time.Sleep(200 * time.Millisecond) // its start-up lines follow the listening socket
	out, _ := os.ReadFile(outFile)
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := exportLine.FindStringSubmatch(sc.Text()); m != nil {
			r.env = append(r.env, m[1]+"="+strings.Trim(m[2], `"`))
		}
	}
	for _, want := range b.expect {
		if !strings.Contains(string(out), want) {
			return fmt.Errorf("its output lacks %q\n--- it printed:\n%s", want, out)
		}
	}
	return nil
}

func (r *runner) stopBackground() {
	for _, cmd := range r.background {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
	}
	r.background = nil
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "readmecheck: "+format+"\n", args...)
	os.Exit(1)
}
