package app

import (
	"net"
	"time"
)

// ListenError says which configured listener could not be opened, so that
// a caller (the demo) can name the setting to change.
type ListenError struct {
	Key string // the configuration key: listen.http, radius.auth, dns.listen...
	Err error
}

func (e *ListenError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *ListenError) Unwrap() error { return e.Err }

// SocketAnswers reports whether a daemon is listening on the unix socket
// at path; a file left by a killed daemon does not answer.
func SocketAnswers(path string) bool {
	c, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
