package remedy

import "time"

// SetClock replaces the clock that ages the Client's token.
func SetClock(c *Client, now func() time.Time) { c.sess.now = now }
