//! Flood control: a token bucket per connection.
//!
//! The queue bound protects the room from a reader that does not keep up;
//! this protects the readers from a writer that floods. Each connection may
//! send `burst` lines at once and `per_second` lines a second after that.
//! An excess line is not dropped or refused: the room simply stops reading
//! that connection until a token is due, so the flood backs up in the
//! flooder's own socket (TCP flow control) and reaches the others at the
//! allowed rate. With `N` members flooding, a reader never needs to take
//! more than `N × per_second` lines a second to keep its place.

use std::time::Duration;

use tokio::time::Instant;

/// How fast one connection may send lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRate {
    /// Lines that may come at once (the bucket's size); at least 1.
    pub burst: u32,
    /// Lines a second after the burst; at least 1.
    pub per_second: u32,
}

impl Default for LineRate {
    /// 20 lines at once, then 10 a second: far above typing, well below a
    /// paste of a whole file.
    fn default() -> Self {
        LineRate {
            burst: 20,
            per_second: 10,
        }
    }
}

/// The state of one connection's bucket.
#[derive(Debug)]
pub(crate) struct Bucket {
    rate: LineRate,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// A full bucket.
    pub(crate) fn new(rate: LineRate, now: Instant) -> Bucket {
        Bucket {
            rate,
            tokens: f64::from(rate.burst),
            last: now,
        }
    }

    /// Takes a token for one line: `None` if one is there, otherwise how
    /// long to wait for it (the token is then taken, so the caller just
    /// waits that long and reads).
    pub(crate) fn take(&mut self, now: Instant) -> Option<Duration> {
        let per_second = f64::from(self.rate.per_second);
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * per_second).min(f64::from(self.rate.burst));
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            None
        } else {
            Some(Duration::from_secs_f64(-self.tokens / per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = Bucket::new(
            LineRate {
                burst: 3,
                per_second: 10,
            },
            t0,
        );
        assert_eq!(b.take(t0), None);
        assert_eq!(b.take(t0), None);
        assert_eq!(b.take(t0), None);
        let wait = b.take(t0).expect("the bucket is empty");
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-9, "{wait:?}");
        // Waiting that long and reading: the next line waits another 0.1 s.
        let t1 = t0 + wait;
        let wait = b.take(t1).expect("still at the rate");
        assert!((wait.as_secs_f64() - 0.1).abs() < 1e-6, "{wait:?}");
        // A quiet second refills the bucket, but never past the burst.
        let t2 = t1 + Duration::from_secs(10);
        for _ in 0..3 {
            assert_eq!(b.take(t2), None);
        }
        assert!(b.take(t2).is_some());
    }
}
