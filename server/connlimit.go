package server

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxRefusing bounds the refused connections being answered at once;
// beyond it a refused connection is closed without an answer, so that a
// flood cannot hold more descriptors than the limit plus this.
const maxRefusing = 64

// refuseTimeout bounds the time spent answering one refused connection.
const refuseTimeout = time.Second

// refusedResponse is what a connection beyond the limit gets: a 503 in
// the usual error shape.
var refusedResponse = func() []byte {
	body, err := json.Marshal(struct {
		Error *apiError `json:"error"`
	}{newError(http.StatusServiceUnavailable, typeServer, "too_many_connections", "the server has too many open connections; retry later")})
	if err != nil {
		panic(err) // a constant value: cannot fail
	}
	body = append(body, '\n')
	head := fmt.Sprintf("HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: %d\r\n\r\n", len(body))
	return append([]byte(head), body...)
}()

// connLimit is a listener that keeps at most cap(slots) accepted
// connections open. A connection beyond the limit is answered 503 and
// closed at once, so a flood of slow clients can neither exhaust the
// process's file descriptors nor leave /health unanswered for long.
type connLimit struct {
	net.Listener
	slots    chan struct{}
	refusing chan struct{}
	log      *slog.Logger
	refused  atomic.Int64
	lastLog  atomic.Int64 // unix nanoseconds of the last refusal logged
}

func newConnLimit(ln net.Listener, max int, log *slog.Logger) *connLimit {
	return &connLimit{Listener: ln, slots: make(chan struct{}, max), refusing: make(chan struct{}, maxRefusing), log: log}
}

// Accept returns the next connection within the limit, refusing those
// beyond it meanwhile.
func (l *connLimit) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
		default:
			l.refuse(c)
		}
	}
}

// refuse answers c with 503 in the background, or closes it at once when
// too many refusals are already under way; refusals are logged at most
// once a second, with their count.
func (l *connLimit) refuse(c net.Conn) {
	n := l.refused.Add(1)
	if now, last := time.Now().UnixNano(), l.lastLog.Load(); now-last > int64(time.Second) && l.lastLog.CompareAndSwap(last, now) {
		l.log.Warn("refusing connections: at the connection limit", "max_connections", cap(l.slots), "refused_total", n)
	}
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	go func() {
		defer func() { <-l.refusing }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(refuseTimeout))
		if _, err := c.Write(refusedResponse); err != nil {
			return
		}
		// Closing with unread request bytes would reset the connection
		// and could destroy the answer: end our side, then read the rest.
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.Copy(io.Discard, io.LimitReader(c, 1<<16))
	}()
}

// limitedConn frees its slot once closed.
type limitedConn struct {
	net.Conn
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.release()
	return err
}
