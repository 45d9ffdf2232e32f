package main

import (
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The generator's own goroutines wait for a CPU before they see a reply:
// with hundreds of workers on one core, Go may poll the network only every
// few milliseconds while it has goroutines to run. The kernel stamps each
// datagram as it reaches the socket (SO_TIMESTAMPNS), which is when a NAS
// would have the reply, so latency is measured against that stamp.

// enableRxStamps asks the kernel to stamp the datagrams conn receives.
func enableRxStamps(conn *net.UDPConn) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil {
		return err
	}
	return serr
}

// oobSize has room for the timestamp's control message.
var oobSize = unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{})))

// rxStamp returns the kernel's arrival time from a datagram's control
// messages, or false. It reads them in place: the generator must not
// allocate per reply, or its own garbage collections would bunch its
// requests into bursts.
func rxStamp(oob []byte) (time.Time, bool) {
	for len(oob) >= unix.SizeofCmsghdr {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		if h.Len < unix.SizeofCmsghdr || int(h.Len) > len(oob) {
			return time.Time{}, false
		}
		data := oob[unix.CmsgLen(0):h.Len]
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
			ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
			return time.Unix(int64(ts.Sec), int64(ts.Nsec)), true
		}
		oob = oob[min(unix.CmsgSpace(int(h.Len)-unix.CmsgLen(0)), len(oob)):]
	}
	return time.Time{}, false
}

// recvNow reads one datagram without waiting; false when none is there.
// Not unix.Recvmsg, which allocates the sender's address per datagram.
func recvNow(fd int, buf, oob []byte) (n, oobn int, ok bool) {
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(len(buf))
	msg := unix.Msghdr{Iov: &iov, Iovlen: 1, Control: &oob[0]}
	msg.SetControllen(len(oob))
	r, _, errno := unix.Syscall(unix.SYS_RECVMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_DONTWAIT)
	if errno != 0 {
		return 0, 0, false
	}
	return int(r), int(msg.Controllen), true
}
