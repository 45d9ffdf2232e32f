//go:build !linux

package main

import (
	"net"
	"time"
)

// Without kernel timestamps the arrival is when the generator sees it.
func enableRxStamps(*net.UDPConn) error { return nil }
func rxStamp([]byte) (time.Time, bool)  { return time.Time{}, false }

var oobSize = 64

func recvNow(int, []byte, []byte) (int, int, bool) { return 0, 0, false }
