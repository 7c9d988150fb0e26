package maintain

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
)

// lock takes the table's lock file in Config.LockDir, exclusive across
// processes (flock: released by the kernel if the process dies), or
// returns ErrLocked when another process holds it.
func (m *Maintainer) lock(ns, name string) (unlock func(), err error) {
	if m.cfg.LockDir == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(m.cfg.LockDir, 0o755); err != nil {
		return nil, fmt.Errorf("maintenance lock directory: %w", err)
	}
	// Escaped: a name of another engine's table may hold any character.
	f, err := os.OpenFile(filepath.Join(m.cfg.LockDir, url.PathEscape(ns)+"."+url.PathEscape(name)+".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("maintenance lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w (%s.%s)", ErrLocked, ns, name)
		}
		return nil, fmt.Errorf("maintenance lock: %w", err)
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
