package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/floe-dev/floe/authz"
)

// setPassword sets a user's password from the first line of stdin, creating
// the user if needed. Only the SCRAM-SHA-256 verifier is stored.
func setPassword(cfg Config, user string, stdin io.Reader, out io.Writer) error {
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return errors.New("password must have at least 8 characters")
	}
	users, err := authz.OpenDirectory(filepath.Join(cfg.Data, "users.json"))
	if err != nil {
		return err
	}
	if err := users.SetPassword(user, pw); err != nil {
		return err
	}
	fmt.Fprintf(out, "floe: password of %q set\n", user)
	return nil
}
