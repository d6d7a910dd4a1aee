//! `remind`: `remind 10m stand up` answers in the same chat when the time
//! comes, mentioning whoever asked. Reminders are durable host timers, so
//! they survive a restart of the bot (a reminder due while it was down comes
//! as soon as it is back, marked late). `forget N` cancels reminder N.
use wasmqq_plugin_api::prelude::*;
use wasmqq_plugin_api::{clock, timers};

/// Longest delay accepted: one year.
const MAX_DELAY_MS: u64 = 366 * 24 * 3600 * 1000;

#[derive(Default)]
struct Remind;

/// Parse `10m`, `1h30m`, `45s`, `2d`, `1w` into milliseconds.
fn parse_delay(s: &str) -> Result<u64, String> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit: u64 = match c.to_ascii_lowercase() {
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 7 * 86_400_000,
            _ => return Err(format!("unknown unit {c:?} in {s:?} (use s, m, h, d, w)")),
        };
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("a number must come before {c:?} in {s:?}"))?;
        digits.clear();
        total = total.saturating_add(n.saturating_mul(unit));
    }
    if !digits.is_empty() {
        return Err(format!("{s:?} needs a unit: 10m, 1h30m, 45s, 2d"));
    }
    if total == 0 {
        return Err("the delay must be more than zero".into());
    }
    if total > MAX_DELAY_MS {
        return Err("at most one year ahead, please".into());
    }
    Ok(total)
}

fn why(e: HostError) -> String {
    match e {
        HostError::NotGranted(_) => {
            "timers are not granted to me in the bot's configuration".into()
        }
        HostError::QuotaExceeded(s) | HostError::Invalid(s) | HostError::Unavailable(s) => s,
    }
}

impl Remind {
    fn remind(&self, call: &CommandCall) -> String {
        let (Some(delay), Some(what)) = (
            call.arg(0),
            call.raw_args
                .trim_start()
                .split_once(char::is_whitespace)
                .map(|(_, rest)| rest.trim())
                .filter(|t| !t.is_empty()),
        ) else {
            return "Usage: remind DELAY TEXT, e.g. `remind 10m stand up`".into();
        };
        let ms = match parse_delay(delay) {
            Ok(ms) => ms,
            Err(e) => return format!("Cannot read the delay: {e}"),
        };
        // The payload carries who asked, to mention them when it fires.
        let payload = format!("{}\t{what}", call.message.sender);
        match timers::schedule(ms, &payload) {
            Ok(id) => format!(
                "OK, I'll remind you in {delay}: {what} (reminder #{id}; `forget {id}` cancels it)"
            ),
            Err(e) => format!("Cannot set the reminder: {}", why(e)),
        }
    }

    fn forget(&self, call: &CommandCall) -> String {
        let Some(id) = call
            .arg(0)
            .and_then(|s| s.trim_start_matches('#').parse().ok())
        else {
            return "Usage: forget N (the number given by `remind`)".into();
        };
        match timers::cancel(id) {
            Ok(true) => format!("Reminder #{id} cancelled."),
            Ok(false) => format!("There is no pending reminder #{id}."),
            Err(e) => format!("Cannot cancel: {}", why(e)),
        }
    }
}

impl Plugin for Remind {
    fn describe(&self) -> PluginInfo {
        PluginInfo::new("remind", env!("CARGO_PKG_VERSION"))
            .description("Reminds you of something later, in the same chat")
            .command(
                CommandSpec::new("remind")
                    .usage("DELAY TEXT")
                    .help("remind you of TEXT after DELAY (10m, 1h30m, 2d)"),
            )
            .command(
                CommandSpec::new("forget")
                    .usage("N")
                    .help("cancel reminder N"),
            )
            .capability(Capability::Timers)
    }

    fn on_command(&mut self, call: CommandCall) -> Vec<Action> {
        let answer = match call.name.as_str() {
            "forget" => self.forget(&call),
            _ => self.remind(&call),
        };
        vec![reply(answer)]
    }

    fn on_timer(&mut self, timer: TimerEvent) -> Vec<Action> {
        let (who, what) = match timer.payload.split_once('\t') {
            Some((who, what)) => (who.parse::<u64>().ok(), what.to_string()),
            None => (None, timer.payload.clone()),
        };
        let late_ms = clock::now().saturating_sub(timer.due);
        let late = if late_ms > 60_000 {
            format!(" (late by {} min: I was offline)", late_ms / 60_000)
        } else {
            String::new()
        };
        let mut segments = Vec::new();
        if let Some(who) = who {
            segments.push(Segment::Mention(who));
            segments.push(text(" "));
        }
        segments.push(text(format!("Reminder: {what}{late}")));
        vec![reply_segments(segments)]
    }
}

export_plugin!(Remind);

#[cfg(test)]
mod tests {
    use super::parse_delay;

    #[test]
    fn delays() {
        assert_eq!(parse_delay("10m"), Ok(600_000));
        assert_eq!(parse_delay("1h30m"), Ok(5_400_000));
        assert_eq!(parse_delay("2s"), Ok(2_000));
        assert!(parse_delay("10").is_err());
        assert!(parse_delay("0s").is_err());
        assert!(parse_delay("5y").is_err());
        assert!(parse_delay("999w").is_err());
    }
}
