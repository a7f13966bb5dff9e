// Command egress-proxy is the kube-apiserver's egress selector target for the real
// node: an HTTP CONNECT proxy listening on a unix socket. hack/real-node.sh starts it
// with nsenter inside the node's network namespace, so every connection it dials (to
// the kubelet, pods, Services) is made from inside that namespace, which has no
// default route. Only IP literals inside -allow are dialed; names are refused, so the
// host's resolver is never consulted.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "", "unix socket path to listen on")
	allow := flag.String("allow", "0.0.0.0/0", "comma-separated CIDRs that may be dialed (inside the namespace)")
	flag.Parse()
	if *listen == "" {
		log.Fatal("-listen is required")
	}
	var nets []*net.IPNet
	for _, c := range strings.Split(*allow, ",") {
		_, n, err := net.ParseCIDR(strings.TrimSpace(c))
		if err != nil {
			log.Fatalf("-allow %q: %v", c, err)
		}
		nets = append(nets, n)
	}
	_ = os.Remove(*listen)
	l, err := net.Listen("unix", *listen)
	if err != nil {
		log.Fatal(err)
	}
	_ = os.Chmod(*listen, 0o600)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; l.Close(); os.Remove(*listen); os.Exit(0) }()
	log.Printf("egress-proxy listening on %s, allowed %s", *listen, *allow)
	for {
		c, err := l.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go serve(c, nets)
	}
}

func allowed(hostport string, nets []*net.IPNet) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return err
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return fmt.Errorf("%q is not an IP address (names are not resolved here)", host)
	}
	for _, n := range nets {
		if n.Contains(ip) {
			return nil
		}
	}
	return fmt.Errorf("%s is outside the allowed ranges", ip)
}

func serve(c net.Conn, nets []*net.IPNet) {
	defer c.Close()
	br := bufio.NewReader(c)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	req, err := http.ReadRequest(br)
	if err != nil {
		log.Printf("bad request: %v", err)
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if req.Method != http.MethodConnect {
		fmt.Fprintf(c, "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
		return
	}
	target := req.Host
	if err := allowed(target, nets); err != nil {
		log.Printf("CONNECT %s refused: %v", target, err)
		fmt.Fprintf(c, "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
		return
	}
	up, err := net.DialTimeout("tcp", target, 10*time.Second)
	if err != nil {
		log.Printf("CONNECT %s: %v", target, err)
		fmt.Fprintf(c, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
		return
	}
	defer up.Close()
	if _, err := io.WriteString(c, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// Bytes the client sent right after the request line are in br's buffer.
		_, _ = io.Copy(up, br)
		if tc, ok := up.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
	}()
	go func() {
		defer wg.Done()
		_, _ = io.Copy(c, up)
		if uc, ok := c.(*net.UnixConn); ok {
			_ = uc.CloseWrite()
		}
	}()
	wg.Wait()
}
