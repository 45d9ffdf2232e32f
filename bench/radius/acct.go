package main

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Accounting attributes (RFC 2865, 2866, 2869).
const (
	attrUserName            = 1
	attrNASIPAddress        = 4
	attrNASPort             = 5
	attrFramedIPAddress     = 8
	attrCallingStationID    = 31
	attrAcctStatusType      = 40
	attrAcctDelayTime       = 41
	attrAcctInputOctets     = 42
	attrAcctOutputOctets    = 43
	attrAcctSessionID       = 44
	attrAcctSessionTime     = 46
	attrAcctTerminate       = 49
	attrAcctInputGigawords  = 52
	attrAcctOutputGigawords = 53
	attrNASPortID           = 87

	statusStart   = 1
	statusStop    = 2
	statusInterim = 3

	causeSessionTimeout = 5
)

// session is one PPP session as the load generator's NAS sees it.
type session struct {
	id      string
	user    int
	time    uint32
	in, out uint64
}

// acctPacket writes an Accounting-Request for s into b (at least 4096
// bytes) and returns it, signed with the Request Authenticator of RFC 2866.
func acctPacket(b []byte, id byte, secret []byte, status uint32, s *session, cause uint32) []byte {
	b = b[:20]
	b[0], b[1] = 4, id
	clear(b[4:20])
	str := func(t byte, v string) {
		b = append(b, t, byte(2+len(v)))
		b = append(b, v...)
	}
	u32 := func(t byte, v uint32) {
		b = append(b, t, 6)
		b = binary.BigEndian.AppendUint32(b, v)
	}
	str(attrUserName, login(s.user))
	b = append(b, attrNASIPAddress, 6, 127, 0, 0, 1)
	u32(attrNASPort, uint32(s.user))
	str(attrNASPortID, fmt.Sprintf("0/0/%d/%d", s.user>>12, s.user&0xfff))
	ip := ipv4(s.user).As4()
	b = append(b, attrFramedIPAddress, 6, ip[0], ip[1], ip[2], ip[3])
	str(attrCallingStationID, fmt.Sprintf("02:00:00:%02x:%02x:%02x", byte(s.user>>16), byte(s.user>>8), byte(s.user)))
	u32(attrAcctStatusType, status)
	u32(attrAcctDelayTime, 0)
	str(attrAcctSessionID, s.id)
	if status != statusStart {
		u32(attrAcctSessionTime, s.time)
		u32(attrAcctInputOctets, uint32(s.in))
		u32(attrAcctInputGigawords, uint32(s.in>>32))
		u32(attrAcctOutputOctets, uint32(s.out))
		u32(attrAcctOutputGigawords, uint32(s.out>>32))
	}
	if status == statusStop {
		u32(attrAcctTerminate, cause)
	}
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)))
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
	return b
}

// acctLoad measures durable accounting: a Start for each session, then
// Interim-Updates with growing counters, each session's in turn, as fast
// as the server acknowledges them, with -concurrency requests in flight.
func acctLoad(args []string) error {
	fs := flag.NewFlagSet("acct", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18130", "accounting address")
	secret := fs.String("secret", "bench-secret", "shared secret")
	nsess := fs.Int("sessions", 20000, "sessions (session k belongs to subscriber k mod -users)")
	users := fs.Int("users", 20000, "subscribers")
	conc := fs.Int("concurrency", 2048, "requests in flight")
	sockets := fs.Int("sockets", 0, "UDP sockets (0: one per 200 requests in flight)")
	duration := fs.Duration("duration", 10*time.Second, "how long to send Interim-Updates")
	timeout := fs.Duration("timeout", 2*time.Second, "reply timeout")
	prefix := fs.String("prefix", "acct", "Acct-Session-Id prefix (sessions of another run are other sessions)")
	metricsURL := fs.String("metrics", "", "the daemon's /metrics URL, to report batch sizes and drops")
	skipStarts := fs.Bool("no-starts", false, "do not send the Starts first")
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
	if *sockets <= 0 {
		*sockets = *conc/200 + 1
	}
	m, err := newMux(dst, []byte(*secret), *sockets)
	if err != nil {
		return err
	}
	defer m.close()
	sess := make([]session, *nsess)
	for k := range sess {
		sess[k] = session{id: fmt.Sprintf("%s-%08x", *prefix, k), user: k % *users}
	}
	c := min(*conc, len(sess))
	// phase runs fn for each worker's sessions (w, w+c, ...) until ctx ends,
	// or once over them when once is set.
	phase := func(label string, status uint32, ctx context.Context, once bool) {
		var res result
		var lat latencies
		before := scrape(*metricsURL)
		start := time.Now()
		var wg sync.WaitGroup
		for w := range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := make([]byte, 0, 4096)
				my := make([]time.Duration, 0, 4096)
				defer func() { lat.add(my) }()
				for ctx.Err() == nil {
					for k := w; k < len(sess) && ctx.Err() == nil; k += c {
						s := &sess[k]
						if status == statusInterim {
							s.time += 60
							s.in += 1_000_000 + uint64(k%1000)*1000
							s.out += 5_000_000 + uint64(k%1000)*7000
						}
						res.sent.Add(1)
						code, d, _, err := m.exchange(w, func(id byte) []byte { return acctPacket(buf, id, []byte(*secret), status, s, 0) }, *timeout, 0)
						switch {
						case err == nil && code == 5:
							res.ok.Add(1)
							my = append(my, d)
						case errors.Is(err, errTimeout):
							res.timeouts.Add(1)
						case err != nil:
							fmt.Fprintln(os.Stderr, "radiusbench:", err)
							return
						default:
							res.rejected.Add(1)
						}
					}
					if once {
						return
					}
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start)
		printResult(label, &res, elapsed, lat.d)
		printMetricsDelta(before, scrape(*metricsURL), res.ok.Load()+res.rejected.Load())
	}
	if !*skipStarts {
		phase(fmt.Sprintf("acct Start   %d sessions, %d in flight", len(sess), c), statusStart, context.Background(), true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	phase(fmt.Sprintf("acct Interim %d sessions, %d in flight, %s", len(sess), c, *duration), statusInterim, ctx, false)
	var in, out uint64
	for _, s := range sess {
		in += s.in
		out += s.out
	}
	fmt.Printf("# sent totals (acknowledged or not): in=%d out=%d\n", in, out)
	return nil
}

func printResult(label string, res *result, elapsed time.Duration, lat []time.Duration) {
	slices.Sort(lat)
	fmt.Printf("%s\tsent=%d answered=%d rejected=%d timeouts=%d\telapsed=%.2fs throughput=%.0f/s\t%s\n",
		label, res.sent.Load(), res.ok.Load(), res.rejected.Load(), res.timeouts.Load(),
		elapsed.Seconds(), float64(res.ok.Load()+res.rejected.Load())/elapsed.Seconds(), quantiles(lat))
}

func quantiles(lat []time.Duration) string {
	q := func(f float64) time.Duration {
		if len(lat) == 0 {
			return 0
		}
		return lat[min(len(lat)-1, int(f*float64(len(lat))))].Round(time.Microsecond)
	}
	return fmt.Sprintf("p50=%v p90=%v p99=%v p999=%v max=%v", q(.5), q(.9), q(.99), q(.999), q(1))
}

// scrape reads the daemon's Prometheus metrics: series name with labels to
// value; nil when url is empty or unreachable.
func scrape(url string) map[string]float64 {
	if url == "" {
		return nil
	}
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "radiusbench: metrics:", err)
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "maillon_radius_") && !strings.HasPrefix(line, "process_cpu_seconds_total") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// printServerLatency prints the share of requests of that code the server
// answered within each bucket of its latency histogram (from receipt to
// reply: what the server itself adds, without the time in the kernel's
// queues or in the load generator).
func printServerLatency(before, after map[string]float64, code string) {
	if after == nil {
		return
	}
	prefix := `maillon_radius_request_duration_seconds_bucket{code="` + code + `",le="`
	type bucket struct{ le, n float64 }
	var bs []bucket
	total := 0.0
	for k, v := range after {
		if rest, ok := strings.CutPrefix(k, prefix); ok {
			le := strings.TrimSuffix(rest, `"}`)
			n := v - before[k]
			if le == "+Inf" {
				total = n
				continue
			}
			if f, err := strconv.ParseFloat(le, 64); err == nil && f >= 0.0005 && f <= 0.01 {
				bs = append(bs, bucket{f, n})
			}
		}
	}
	if total == 0 {
		return
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
	var parts []string
	for _, b := range bs {
		parts = append(parts, fmt.Sprintf("≤%gms %.2f%%", b.le*1000, 100*b.n/total))
	}
	fmt.Printf("#   server-side %s latency (receipt to reply), %.0f requests: %s\n", code, total, strings.Join(parts, " "))
}

// printMetricsDelta prints what the server reports about the phase: group
// commits and their sizes, and the packets it dropped, by reason.
func printMetricsDelta(before, after map[string]float64, answered int64) {
	if after == nil {
		return
	}
	d := func(k string) float64 { return after[k] - before[k] }
	count, sum := d("maillon_radius_accounting_batch_size_count"), d("maillon_radius_accounting_batch_size_sum")
	var parts []string
	if cpu := d("process_cpu_seconds_total"); cpu > 0 && answered > 0 {
		parts = append(parts, fmt.Sprintf("daemon CPU %.2fs (%.1fµs per answer)", cpu, cpu*1e6/float64(answered)))
	}
	if count > 0 {
		parts = append(parts, fmt.Sprintf("group commits=%.0f mean batch=%.1f", count, sum/count))
		// The histogram's buckets give the batch size distribution.
		var les []float64
		cum := map[float64]float64{}
		for k := range after {
			if rest, ok := strings.CutPrefix(k, `maillon_radius_accounting_batch_size_bucket{le="`); ok {
				le, err := strconv.ParseFloat(strings.TrimSuffix(rest, `"}`), 64)
				if err == nil {
					les = append(les, le)
					cum[le] = d(k)
				}
			}
		}
		sort.Float64s(les)
		var dist []string
		prev := 0.0
		for _, le := range les {
			if n := cum[le] - prev; n > 0 {
				dist = append(dist, fmt.Sprintf("≤%g:%.0f", le, n))
			}
			prev = cum[le]
		}
		parts = append(parts, "batch sizes "+strings.Join(dist, " "))
	}
	var keys []string
	for k := range after {
		if strings.HasPrefix(k, "maillon_radius_drops_total") || strings.HasPrefix(k, "maillon_radius_accounting_commits_total") {
			if d(k) != 0 {
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%.0f", strings.TrimPrefix(k, "maillon_radius_"), d(k)))
	}
	if len(parts) > 0 {
		fmt.Printf("#   server: %s\n", strings.Join(parts, "; "))
	}
}

// storm is the midnight reconnect storm: every subscriber's session ends
// (Session-Timeout), and each NAS sends its Stop, the subscriber logs in
// again (Access-Request) and the NAS sends the new session's Start, all
// subscribers at once and each as fast as it is answered.
func storm(args []string) error {
	fs := flag.NewFlagSet("storm", flag.ExitOnError)
	authAddr := fs.String("auth", "127.0.0.1:18120", "authentication address")
	acctAddr := fs.String("acct", "127.0.0.1:18130", "accounting address")
	secret := fs.String("secret", "bench-secret", "shared secret")
	n := fs.Int("users", 20000, "subscribers")
	conc := fs.Int("concurrency", 0, "subscribers reconnecting at once (0: all)")
	timeout := fs.Duration("timeout", 3*time.Second, "reply timeout before a retransmission (a NAS's; accel-ppp and Juniper: 3s)")
	retries := fs.Int("retries", 2, "retransmissions after a timeout (accel-ppp: max-try 3)")
	prefix := fs.String("prefix", "storm", "Acct-Session-Id prefix")
	metricsURL := fs.String("metrics", "", "the daemon's /metrics URL")
	fs.Parse(args)
	auth, err := netip.ParseAddrPort(*authAddr)
	if err != nil {
		return err
	}
	acct, err := netip.ParseAddrPort(*acctAddr)
	if err != nil {
		return err
	}
	if !auth.Addr().IsLoopback() || !acct.Addr().IsLoopback() {
		return errors.New("the load generator only targets loopback addresses")
	}
	if *conc <= 0 || *conc > *n {
		*conc = *n
	}
	sec := []byte(*secret)
	am, err := newMux(auth, sec, *conc/200+1)
	if err != nil {
		return err
	}
	defer am.close()
	cm, err := newMux(acct, sec, *conc/200+1)
	if err != nil {
		return err
	}
	defer cm.close()

	// Yesterday's sessions, opened before the storm (not timed).
	old := make([]session, *n)
	for i := range old {
		old[i] = session{id: fmt.Sprintf("%s-old-%08x", *prefix, i), user: i}
	}
	setup := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range 512 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 4096)
			for i := w; i < *n; i += 512 {
				s := &old[i]
				_, _, _, err := cm.exchange(w, func(id byte) []byte { return acctPacket(buf, id, sec, statusStart, s, 0) }, 5*time.Second, 3)
				if err != nil {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("# storm setup: %d sessions started in %.1fs (%d failed)\n", *n, time.Since(setup).Seconds(), failed.Load())
	time.Sleep(time.Second)

	type step struct {
		res     result
		retrans atomic.Int64 // requests that needed a retransmission
		lat     latencies
	}
	var stop, access, start step
	var done latencies // per subscriber: storm start to its Start acknowledged
	var reconnected atomic.Int64
	before := scrape(*metricsURL)
	gate := make(chan struct{})
	sem := make(chan struct{}, *conc)
	t0 := time.Now()
	do := func(st *step, m *mux, sock int, build func(byte) []byte) bool {
		st.res.sent.Add(1)
		code, d, sends, err := m.exchange(sock, build, *timeout, *retries)
		if sends > 1 {
			st.retrans.Add(1)
		}
		switch {
		case errors.Is(err, errTimeout):
			st.res.timeouts.Add(1)
			return false
		case err != nil:
			fmt.Fprintln(os.Stderr, "radiusbench:", err)
			return false
		case code == 2 || code == 5:
			st.res.ok.Add(1)
		default:
			st.res.rejected.Add(1)
		}
		st.lat.add([]time.Duration{d})
		return code == 2 || code == 5
	}
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			sem <- struct{}{}
			defer func() { <-sem }()
			buf := make([]byte, 0, 4096)
			s := &old[i]
			s.time, s.in, s.out = 49708, 3_000_000_000+uint64(i), 40_000_000_000+uint64(i)
			do(&stop, cm, i, func(id byte) []byte { return acctPacket(buf, id, sec, statusStop, s, causeSessionTimeout) })
			tpl := newTemplate(i, sec)
			rng := newRand(uint64(i))
			mac := newMAC(sec)
			if !do(&access, am, i, func(id byte) []byte { return tpl.next(id, rng, mac) }) {
				return
			}
			ns := session{id: fmt.Sprintf("%s-new-%08x", *prefix, i), user: i}
			if do(&start, cm, i, func(id byte) []byte { return acctPacket(buf, id, sec, statusStart, &ns, 0) }) {
				reconnected.Add(1)
				done.add([]time.Duration{time.Since(t0)})
			}
		}()
	}
	t0 = time.Now()
	close(gate)
	wg.Wait()
	elapsed := time.Since(t0)
	fmt.Printf("# midnight storm: %d subscribers, %d at once; a request times out after %s, is retransmitted up to %d times (timeouts= counts those never answered)\n", *n, *conc, *timeout, *retries)
	for _, x := range []struct {
		label string
		st    *step
	}{{"storm Stop          ", &stop}, {"storm Access-Request", &access}, {"storm Start         ", &start}} {
		printResult(fmt.Sprintf("%s retransmitted=%d", x.label, x.st.retrans.Load()), &x.st.res, elapsed, x.st.lat.d)
	}
	slices.Sort(done.d)
	fmt.Printf("storm total\t%d of %d subscribers reconnected (Stop, Accept, Start) in %.2fs\treconnect time %s\n",
		reconnected.Load(), *n, elapsed.Seconds(), quantiles(done.d))
	printMetricsDelta(before, scrape(*metricsURL), stop.res.ok.Load()+access.res.ok.Load()+start.res.ok.Load())
	return nil
}
