// Command radiusbench measures RADIUS authentication throughput and
// latency, for maillon's server and for FreeRADIUS, with the same load and
// the same subscribers (see run.sh and RESULTS.md).
//
//	radiusbench serve -addr 127.0.0.1:18120 -users 10000
//	radiusbench users -users 10000 > authorize    # FreeRADIUS "files"
//	radiusbench load -addr 127.0.0.1:18120 -users 10000 -duration 10s -concurrency 64
//	radiusbench load ... -rate 20000              # open loop, for latency
//	radiusbench sqlusers -users 10000 | psql radius # FreeRADIUS rlm_sql
//	radiusbench daemon -dir /tmp/x -users 20000   # the whole maillon daemon
//	radiusbench acct -addr ACCT -sessions 20000   # durable accounting
//	radiusbench storm -auth AUTH -acct ACCT -users 20000 # midnight reconnect
//	radiusbench stalls -duration 10s              # time this CPU is taken away
//
// Every request is a CHAP Access-Request with a CHAP-Challenge and a
// Message-Authenticator, for a random one of the subscribers; each has a
// fresh Request Authenticator, so no server can answer from a
// retransmission cache.
package main

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"maillon/internal/radius"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: radiusbench serve|users|sqlusers|load|daemon|acct|storm|stalls [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = serve(os.Args[2:])
	case "users":
		err = users(os.Args[2:])
	case "sqlusers":
		err = sqlUsers(os.Args[2:])
	case "load":
		err = load(os.Args[2:])
	case "daemon":
		err = daemon(os.Args[2:])
	case "acct":
		err = acctLoad(os.Args[2:])
	case "storm":
		err = storm(os.Args[2:])
	case "stalls":
		err = stalls(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "radiusbench:", err)
		os.Exit(1)
	}
}

func login(i int) string    { return fmt.Sprintf("user%05d@bench.example", i) }
func password(i int) string { return fmt.Sprintf("pw-%05d", i) }
func ipv4(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 64, byte(i >> 8), byte(i)}) }

// serve runs maillon's RADIUS server with n synthetic subscribers.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18120", "authentication address")
	n := fs.Int("users", 10000, "subscribers")
	secret := fs.String("secret", "bench-secret", "shared secret")
	workers := fs.Int("workers", 0, "request workers (0: GOMAXPROCS)")
	fs.Parse(args)
	s, err := radius.New(radius.Config{
		AuthAddr: *addr, AcctAddr: "-", Workers: *workers,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		return err
	}
	in := radius.SnapshotInput{Clients: []radius.Client{{
		Name: "bench", Prefix: netip.MustParsePrefix("127.0.0.0/8"), Secret: *secret,
		Kind: radius.ClientBRAS, MessageAuthenticator: radius.MARequire,
	}}}
	for i := 0; i < *n; i++ {
		in.Subscribers = append(in.Subscribers, radius.Subscriber{
			Login: login(i), Password: password(i), Kind: radius.KindPPP,
			State: radius.StateActive, MembershipCurrent: true, IPv4: ipv4(i),
			IPv6: netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, byte(i >> 8), byte(i)}), 64),
		})
	}
	snap, err := radius.NewSnapshot(in)
	if err != nil {
		return err
	}
	s.SetSnapshot(snap)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, sysTERM)
	defer stop()
	fmt.Fprintf(os.Stderr, "radiusbench: maillon serving %d subscribers on %s\n", *n, *addr)
	return s.ListenAndServe(ctx)
}

// users writes the same subscribers as a FreeRADIUS users file, with the
// same reply attributes as maillon's Accept.
func users(args []string) error {
	fs := flag.NewFlagSet("users", flag.ExitOnError)
	n := fs.Int("users", 10000, "subscribers")
	fs.Parse(args)
	w := os.Stdout
	for i := 0; i < *n; i++ {
		fmt.Fprintf(w, "%s Cleartext-Password := %q\n", login(i), password(i))
		fmt.Fprintf(w, "\tFramed-IP-Address = %s,\n\tFramed-IP-Netmask = 255.255.255.255,\n", ipv4(i))
		fmt.Fprintf(w, "\tFramed-IPv6-Prefix = 2001:db8:%x::/64,\n", i)
		fmt.Fprintf(w, "\tService-Type = Framed-User,\n\tFramed-Protocol = PPP,\n\tFramed-MTU = 1500,\n")
		fmt.Fprintf(w, "\tPort-Limit = 1,\n\tAcct-Interim-Interval = 60,\n\tSession-Timeout = 49708\n\n")
	}
	return nil
}

// sqlUsers writes the same subscribers for FreeRADIUS's rlm_sql, as psql
// input for its PostgreSQL schema (radcheck and radreply, COPY format):
// the same check and reply attributes as users writes.
func sqlUsers(args []string) error {
	fs := flag.NewFlagSet("sqlusers", flag.ExitOnError)
	n := fs.Int("users", 10000, "subscribers")
	fs.Parse(args)
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintln(w, "COPY radcheck (username, attribute, op, value) FROM stdin;")
	for i := 0; i < *n; i++ {
		fmt.Fprintf(w, "%s\tCleartext-Password\t:=\t%s\n", login(i), password(i))
	}
	fmt.Fprintln(w, "\\.")
	fmt.Fprintln(w, "COPY radreply (username, attribute, op, value) FROM stdin;")
	for i := 0; i < *n; i++ {
		for _, av := range [][2]string{
			{"Framed-IP-Address", ipv4(i).String()}, {"Framed-IP-Netmask", "255.255.255.255"},
			{"Framed-IPv6-Prefix", fmt.Sprintf("2001:db8:%x::/64", i)}, {"Service-Type", "Framed-User"},
			{"Framed-Protocol", "PPP"}, {"Framed-MTU", "1500"}, {"Port-Limit", "1"},
			{"Acct-Interim-Interval", "60"}, {"Session-Timeout", "49708"},
		} {
			fmt.Fprintf(w, "%s\t%s\t=\t%s\n", login(i), av[0], av[1])
		}
	}
	fmt.Fprintln(w, "\\.")
	fmt.Fprintln(w, "ANALYZE radcheck;")
	fmt.Fprintln(w, "ANALYZE radreply;")
	return nil
}

func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
}
func newMAC(secret []byte) hash.Hash { return hmac.New(md5.New, secret) }

type result struct {
	sent, ok, rejected, timeouts atomic.Int64
	late                         atomic.Int64 // sent over 0.5 ms after their time (open loop)
	mu                           sync.Mutex
	lat                          []time.Duration // send to the reply's arrival in the kernel
	seen                         []time.Duration // send to the generator seeing the reply
}

func load(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18120", "server address")
	n := fs.Int("users", 10000, "subscribers")
	secret := fs.String("secret", "bench-secret", "shared secret")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	conc := fs.Int("concurrency", 64, "requests in flight (closed loop only)")
	rate := fs.Int("rate", 0, "requests per second, each sent at its time (0: closed loop, as fast as answered)")
	timeout := fs.Duration("timeout", time.Second, "reply timeout")
	label := fs.String("label", "", "label printed with the result")
	metricsURL := fs.String("metrics", "", "maillon's /metrics URL: also print the server-side latency (receipt to reply)")
	fs.Parse(args)
	if *duration > 10*time.Minute {
		return errors.New("duration is bounded to 10 minutes")
	}
	dst, err := netip.ParseAddrPort(*addr)
	if err != nil {
		return err
	}
	if !dst.Addr().IsLoopback() {
		return errors.New("the load generator only targets loopback addresses")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var res result
	var wg sync.WaitGroup
	before := scrape(*metricsURL)
	start := time.Now()
	if *rate > 0 {
		if err := paced(ctx, dst, []byte(*secret), *n, *rate, 4, *timeout, &res); err != nil {
			return err
		}
	} else {
		for w := 0; w < *conc; w++ {
			wg.Add(1)
			go func(seed uint64) {
				defer wg.Done()
				if err := client(ctx, dst, []byte(*secret), *n, seed, *timeout, &res); err != nil {
					fmt.Fprintln(os.Stderr, "radiusbench:", err)
				}
			}(uint64(w))
		}
		wg.Wait()
	}
	elapsed := min(time.Since(start), *duration)
	slices.Sort(res.lat)
	slices.Sort(res.seen)
	q := func(d []time.Duration, f float64) time.Duration {
		if len(d) == 0 {
			return 0
		}
		return d[min(len(d)-1, int(f*float64(len(d))))].Round(time.Microsecond)
	}
	seen := ""
	if len(res.seen) > 0 {
		seen = fmt.Sprintf("\t(reply seen by the generator: p50=%v p99=%v)", q(res.seen, 0.5), q(res.seen, 0.99))
	}
	fmt.Printf("%s\tsent=%d accepted=%d rejected=%d timeouts=%d\tthroughput=%.0f/s\tp50=%v p99=%v p999=%v max=%v%s\n",
		*label, res.sent.Load(), res.ok.Load(), res.rejected.Load(), res.timeouts.Load(),
		float64(res.ok.Load()+res.rejected.Load())/elapsed.Seconds(),
		q(res.lat, 0.5), q(res.lat, 0.99), q(res.lat, 0.999), q(res.lat, 1), seen)
	if *rate > 0 {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Printf("#   generator: %.2f%% of requests sent over 0.5 ms after their time, %d garbage collections\n",
			100*float64(res.late.Load())/float64(max(res.sent.Load(), 1)), ms.NumGC)
	}
	printServerLatency(before, scrape(*metricsURL), "Access-Request")
	return nil
}

func client(ctx context.Context, dst netip.AddrPort, secret []byte, n int, seed uint64, timeout time.Duration, res *result) error {
	conn, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := enableRxStamps(conn); err != nil {
		return fmt.Errorf("kernel receive timestamps: %w", err)
	}
	oob := make([]byte, oobSize)
	rng := rand.New(rand.NewPCG(seed, uint64(time.Now().UnixNano())))
	pkts := make([]*template, 64)
	for i := range pkts {
		pkts[i] = newTemplate(rng.IntN(n), secret)
	}
	buf := make([]byte, 4096)
	mac := hmac.New(md5.New, secret)
	lat := make([]time.Duration, 0, 1<<16)
	seen := make([]time.Duration, 0, 1<<16)
	defer func() {
		res.mu.Lock()
		res.lat = append(res.lat, lat...)
		res.seen = append(res.seen, seen...)
		res.mu.Unlock()
	}()
	// A random first identifier: a socket may get the source port of one
	// the previous run closed, and a server that still remembers (port,
	// identifier) pairs from it (FreeRADIUS does, for cleanup_delay)
	// would discard the first requests as conflicting.
	id := byte(rng.Uint32())
	for ctx.Err() == nil {
		t := pkts[rng.IntN(len(pkts))]
		id++
		raw := t.next(id, rng, mac)
		sent := time.Now()
		if _, err := conn.Write(raw); err != nil {
			return err
		}
		res.sent.Add(1)
		conn.SetReadDeadline(sent.Add(timeout))
		for {
			k, oobn, _, _, err := conn.ReadMsgUDPAddrPort(buf, oob)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					res.timeouts.Add(1)
					break
				}
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if k < 20 || buf[1] != id {
				continue // a late answer to an earlier request
			}
			now := time.Now()
			arrived, ok := rxStamp(oob[:oobn])
			if !ok {
				arrived = now
			}
			lat = append(lat, arrived.Sub(sent))
			seen = append(seen, now.Sub(sent))
			if buf[0] == 2 {
				res.ok.Add(1)
			} else {
				res.rejected.Add(1)
			}
			break
		}
	}
	return nil
}

// template is a CHAP Access-Request whose authenticator and
// Message-Authenticator are renewed for each send.
type template struct {
	b     []byte
	maOff int
}

func newTemplate(i int, secret []byte) *template {
	user := login(i)
	challenge := make([]byte, 16)
	for j := range challenge {
		challenge[j] = byte(i*7 + j)
	}
	sum := md5.Sum(append(append([]byte{1}, password(i)...), challenge...))
	b := make([]byte, 20, 256)
	b[0] = 1
	attr := func(t byte, v []byte) {
		b = append(b, t, byte(2+len(v)))
		b = append(b, v...)
	}
	attr(1, []byte(user))
	attr(3, append([]byte{1}, sum[:]...))
	attr(60, challenge)
	attr(4, []byte{127, 0, 0, 1})
	attr(6, binary.BigEndian.AppendUint32(nil, 2))
	attr(7, binary.BigEndian.AppendUint32(nil, 1))
	t := &template{}
	attr(80, make([]byte, 16))
	t.maOff = len(b) - 16
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	t.b = b
	return t
}

func (t *template) next(id byte, rng *rand.Rand, mac interface {
	io.Writer
	Reset()
	Sum([]byte) []byte
}) []byte {
	b := t.b
	b[1] = id
	binary.LittleEndian.PutUint64(b[4:12], rng.Uint64())
	binary.LittleEndian.PutUint64(b[12:20], rng.Uint64())
	clear(b[t.maOff : t.maOff+16])
	mac.Reset()
	mac.Write(b)
	mac.Sum(b[t.maOff:t.maOff])
	return b
}
