//! The output budget of each plugin, so no plugin can flood a chat:
//! proactive messages per minute (a token bucket), messages waiting in the
//! outbox at once, and the size of one message. Host messages are never
//! budgeted. A refused message is one `quota-exceeded` for the plugin and at
//! most one log line per plugin per [`REPORT_EVERY`].

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::abi::Segment;

/// How often refusals of one plugin are summarised in the log.
pub const REPORT_EVERY: Duration = Duration::from_secs(10);

/// What ends a message cut to the size budget.
pub const CUT_MARKER: &str = "…(cut)";

/// Budget settings (from `[outbox]`).
#[derive(Debug, Clone, Copy)]
pub struct BudgetConfig {
    /// Proactive messages per plugin per minute (bucket size and refill).
    pub sends_per_minute: u32,
    /// Proactive messages of one plugin queued at once.
    pub max_queued: u32,
    /// Bytes of text one message may carry.
    pub max_message_bytes: usize,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Default)]
struct Refusals {
    count: u64,
    since: Option<Instant>,
}

/// Per-plugin budgets.
pub struct Budget {
    config: BudgetConfig,
    buckets: Mutex<HashMap<String, Bucket>>,
    refusals: Mutex<HashMap<String, Refusals>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Budget {
    /// Budgets with `config`.
    pub fn new(config: BudgetConfig) -> Budget {
        Budget {
            config,
            buckets: Mutex::new(HashMap::new()),
            refusals: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `plugin` may queue one more message now, given `queued` of
    /// its proactive messages already wait; `Err` says why not (for the
    /// plugin). Replies to users are not budgeted: user cooldowns bound
    /// them, and they are what the users asked for.
    pub fn admit(
        &self,
        plugin: &str,
        proactive: bool,
        queued: usize,
        now: Instant,
    ) -> Result<(), String> {
        let c = self.config;
        if !proactive {
            return Ok(());
        }
        if queued >= c.max_queued as usize {
            return Err(self.refused(
                plugin,
                now,
                format!(
                    "{queued} of its messages already wait in the outbox (limit {})",
                    c.max_queued
                ),
            ));
        }
        let per_sec = f64::from(c.sends_per_minute) / 60.0;
        let mut buckets = lock(&self.buckets);
        let bucket = buckets.entry(plugin.to_string()).or_insert(Bucket {
            tokens: f64::from(c.sends_per_minute),
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(f64::from(c.sends_per_minute));
        bucket.at = now;
        if bucket.tokens < 1.0 {
            drop(buckets);
            return Err(self.refused(
                plugin,
                now,
                format!(
                    "more than {} proactive messages per minute",
                    c.sends_per_minute
                ),
            ));
        }
        bucket.tokens -= 1.0;
        Ok(())
    }

    /// Count a refusal; log a summary at most once per [`REPORT_EVERY`].
    fn refused(&self, plugin: &str, now: Instant, why: String) -> String {
        let mut all = lock(&self.refusals);
        let r = all.entry(plugin.to_string()).or_default();
        r.count += 1;
        let due = r
            .since
            .is_none_or(|t| now.saturating_duration_since(t) >= REPORT_EVERY);
        if due {
            tracing::warn!(
                plugin,
                refused = r.count,
                "plugin over its output budget: {why}; messages refused"
            );
            r.count = 0;
            r.since = Some(now);
        }
        format!("output budget exceeded: {why}")
    }

    /// `segments` cut to the size budget, the cut marked with
    /// [`CUT_MARKER`].
    pub fn cut(&self, segments: Vec<Segment>) -> Vec<Segment> {
        cut(segments, self.config.max_message_bytes)
    }
}

/// `segments` whose text stays within `max` bytes (faces count 8), cut at a
/// character boundary and marked when something was left out.
pub fn cut(segments: Vec<Segment>, max: usize) -> Vec<Segment> {
    let size = |s: &Segment| match s {
        Segment::Text(t) => t.len(),
        _ => 8,
    };
    if segments.iter().map(size).sum::<usize>() <= max {
        return segments;
    }
    let room = max.saturating_sub(CUT_MARKER.len());
    let mut used = 0;
    let mut out = Vec::new();
    for s in segments {
        let n = size(&s);
        if used + n <= room {
            used += n;
            out.push(s);
            continue;
        }
        if let Segment::Text(t) = s {
            let mut end = room - used;
            while !t.is_char_boundary(end) {
                end -= 1;
            }
            out.push(Segment::Text(t[..end].to_string()));
        }
        break;
    }
    out.push(Segment::Text(CUT_MARKER.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget() -> Budget {
        Budget::new(BudgetConfig {
            sends_per_minute: 3,
            max_queued: 5,
            max_message_bytes: 20,
        })
    }

    #[test]
    fn proactive_messages_drain_the_bucket_and_it_refills_over_a_minute() {
        let b = budget();
        let t0 = Instant::now();
        for _ in 0..3 {
            b.admit("p", true, 0, t0).unwrap();
        }
        let e = b.admit("p", true, 0, t0).unwrap_err();
        assert!(
            e.contains("more than 3 proactive messages per minute"),
            "{e}"
        );
        // Replies are not counted against the bucket; other plugins have their own.
        b.admit("p", false, 0, t0).unwrap();
        b.admit("q", true, 0, t0).unwrap();
        // A third of a minute gives one token back.
        assert!(b.admit("p", true, 0, t0 + Duration::from_secs(10)).is_err());
        b.admit("p", true, 0, t0 + Duration::from_secs(21)).unwrap();
    }

    #[test]
    fn a_full_queue_refuses_proactive_messages_not_replies() {
        let b = budget();
        let e = b.admit("p", true, 5, Instant::now()).unwrap_err();
        assert!(e.contains("5 of its messages already wait"), "{e}");
        b.admit("p", false, 500, Instant::now()).unwrap();
    }

    #[test]
    fn long_messages_are_cut_with_a_marker() {
        let short = vec![Segment::Text("hello".into())];
        assert_eq!(cut(short.clone(), 20), short);
        let long = cut(vec![Segment::Text("汉字".repeat(10))], 20);
        let text: String = long
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.as_str(),
                _ => "",
            })
            .collect();
        assert!(text.ends_with(CUT_MARKER), "{text}");
        assert!(text.len() <= 20, "{} bytes", text.len());
        let faces = cut(vec![Segment::Face(1); 10], 20);
        assert_eq!(faces.last(), Some(&Segment::Text(CUT_MARKER.into())));
    }
}
