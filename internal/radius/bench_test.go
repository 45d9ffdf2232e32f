package radius

import (
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"layeh.com/radius"
)

// benchWorker serves a snapshot of n subscribers; its clock advances a
// second per call so reply-cache entries expire and get swept as in a long
// run, rather than piling up.
func benchWorker(b *testing.B, n int) *worker {
	var now time.Time = traceTime
	s, err := New(Config{
		Registerer:       prometheus.NewRegistry(),
		Logger:           slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:              func() time.Time { now = now.Add(time.Second); return now },
		RetransmitWindow: time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	in := testInput(MARequire)
	for i := 0; i < n; i++ {
		in.Subscribers = append(in.Subscribers, Subscriber{
			Login: fmt.Sprintf("user%d@BENCH", i), Password: fmt.Sprintf("pw-%d", i),
			Kind: KindPPP, State: StateActive, MembershipCurrent: true,
			IPv4: netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}),
			IPv6: netip.MustParsePrefix("2001:db8::/64"),
		})
	}
	snap, err := NewSnapshot(in)
	if err != nil {
		b.Fatal(err)
	}
	s.SetSnapshot(snap)
	return s.newWorker(1)
}

func benchProcess(b *testing.B, w *worker, raw []byte) {
	buf := make([]byte, len(raw))
	src := netip.MustParseAddrPort("127.0.0.1:1")
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		copy(buf, raw)
		// A new source port makes each request new to the reply cache.
		src = netip.AddrPortFrom(src.Addr(), uint16(i))
		if w.process(buf, src, nil, time.Now()) == nil {
			b.Fatal("no reply")
		}
		if i%4096 == 0 {
			w.s.cache.sweep(w.s.cfg.Now())
		}
	}
}

func BenchmarkProcessPAP(b *testing.B) {
	w := benchWorker(b, 10000)
	raw := encodeRequest(b, papRequest(b, "user4242@BENCH", "pw-4242"), true)
	benchProcess(b, w, raw)
}

func BenchmarkProcessMSCHAPv2(b *testing.B) {
	w := benchWorker(b, 10000)
	p, _, _, _ := mschapv2Request(b, "user4242@BENCH", "pw-4242")
	raw := encodeRequest(b, p, true)
	benchProcess(b, w, raw)
}

func BenchmarkProcessReject(b *testing.B) {
	w := benchWorker(b, 10000)
	raw := encodeRequest(b, papRequest(b, "user4242@BENCH", "wrong"), true)
	benchProcess(b, w, raw)
}

// BenchmarkParse compares our offset parser with layeh.com/radius's Parse,
// which allocates per attribute: the reason the hot path has its own codec.
func BenchmarkParse(b *testing.B) {
	raw := fuzzSeeds(b)[3] // the reference trace's shape, with vendor attributes
	b.Run("maillon", func(b *testing.B) {
		var p packet
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := p.parse(raw); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("layeh", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := radius.Parse(raw, []byte(testSecret)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSnapshotBuild(b *testing.B) {
	in := testInput(MARequire)
	for i := 0; i < 10000; i++ {
		in.Subscribers = append(in.Subscribers, Subscriber{
			Login: fmt.Sprintf("user%d@BENCH", i), Password: "pw", Kind: KindPPP,
			State: StateActive, MembershipCurrent: true,
		})
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := NewSnapshot(in); err != nil {
			b.Fatal(err)
		}
	}
}
