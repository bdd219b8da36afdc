package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// runHealthcheck asks a server's /readyz and succeeds when it answers 200:
// a container health check for an image that has no shell or curl.
func runHealthcheck(ctx context.Context, e *env, args []string) error {
	fs := newFlags("healthcheck", e)
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parse(fs, e, args, noneFromEnv); err != nil {
		return err
	}
	if fs.NArg() > 1 {
		return usageError{errors.New("usage: flexapi healthcheck [--timeout 3s] [URL] (default http://127.0.0.1:8080)")}
	}
	target := "http://127.0.0.1:8080"
	if fs.NArg() == 1 {
		target = fs.Arg(0)
	}
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return usageError{fmt.Errorf("%q is not an http:// or https:// URL", target)}
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/readyz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", u.String(), nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", u, res.StatusCode)
	}
	fmt.Fprintf(e.stdout, "%s: ready\n", u)
	return nil
}
