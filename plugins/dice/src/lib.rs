//! `dice`: `roll 2d6`, `roll d20+3`. Bad arguments get a polite explanation.
use std::hash::BuildHasher;

use wasmqq_plugin_api::prelude::*;

const USAGE: &str = "I roll dice written like 2d6 or d20+3: up to 100 dice with 2 to 1000 sides.";

struct Dice {
    state: u64,
}

impl Default for Dice {
    fn default() -> Self {
        // std seeds RandomState from WASI's random source.
        let seed = std::collections::hash_map::RandomState::new().hash_one(0u64);
        Dice { state: seed | 1 }
    }
}

/// A parsed `NdM+K` expression.
#[derive(Debug, PartialEq)]
struct Roll {
    count: u32,
    sides: u32,
    bonus: i64,
}

fn parse(expr: &str) -> Result<Roll, String> {
    let expr = expr.trim().to_ascii_lowercase();
    let (dice, bonus) = match expr.find(['+', '-']) {
        Some(i) => (
            &expr[..i],
            expr[i..]
                .parse::<i64>()
                .map_err(|_| format!("\"{}\" is not a number to add", &expr[i..]))?,
        ),
        None => (expr.as_str(), 0),
    };
    let (count, sides) = dice
        .split_once('d')
        .ok_or_else(|| format!("\"{expr}\" is not a dice expression"))?;
    let count = if count.is_empty() {
        1
    } else {
        count
            .parse()
            .map_err(|_| format!("\"{count}\" is not a number of dice"))?
    };
    let sides = sides
        .parse()
        .map_err(|_| format!("\"{sides}\" is not a number of sides"))?;
    if !(1..=100).contains(&count) || !(2..=1000).contains(&sides) || bonus.abs() > 1_000_000 {
        return Err(format!("{expr} is out of range"));
    }
    Ok(Roll {
        count,
        sides,
        bonus,
    })
}

impl Dice {
    fn next(&mut self, sides: u32) -> u32 {
        // xorshift64*
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let x = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        (x % u64::from(sides)) as u32 + 1
    }
}

impl Plugin for Dice {
    fn describe(&self) -> PluginInfo {
        PluginInfo::new("dice", env!("CARGO_PKG_VERSION"))
            .description("Rolls dice")
            .command(
                CommandSpec::new("roll")
                    .alias("r")
                    .usage("NdM[+K]")
                    .help("roll N dice with M sides, e.g. 2d6"),
            )
    }

    fn on_command(&mut self, call: CommandCall) -> Vec<Action> {
        let expr = if call.raw_args.trim().is_empty() {
            "1d6"
        } else {
            call.raw_args.as_str()
        };
        let roll = match parse(expr) {
            Ok(roll) => roll,
            Err(why) => return vec![reply(format!("Sorry, {why}. {USAGE}"))],
        };
        let faces: Vec<u32> = (0..roll.count).map(|_| self.next(roll.sides)).collect();
        let total: i64 = faces.iter().map(|&f| i64::from(f)).sum::<i64>() + roll.bonus;
        let shown: Vec<String> = faces.iter().map(u32::to_string).collect();
        let mut text = format!("🎲 {}: {}", expr.trim(), shown.join(" + "));
        if roll.bonus != 0 {
            text.push_str(&format!(
                " {} {}",
                if roll.bonus > 0 { '+' } else { '-' },
                roll.bonus.abs()
            ));
        }
        if roll.count > 1 || roll.bonus != 0 {
            text.push_str(&format!(" = {total}"));
        }
        vec![reply(text)]
    }
}

export_plugin!(Dice);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_dice_expressions() {
        assert_eq!(
            parse("2d6"),
            Ok(Roll {
                count: 2,
                sides: 6,
                bonus: 0
            })
        );
        assert_eq!(
            parse("d20+3"),
            Ok(Roll {
                count: 1,
                sides: 20,
                bonus: 3
            })
        );
        assert_eq!(
            parse("3D8-1"),
            Ok(Roll {
                count: 3,
                sides: 8,
                bonus: -1
            })
        );
        assert!(parse("banana").is_err());
        assert!(parse("0d6").is_err());
        assert!(parse("2d1").is_err());
        assert!(parse("1000d6").is_err());
    }

    #[test]
    fn rolls_stay_in_range() {
        let mut dice = Dice::default();
        for _ in 0..1000 {
            let n = dice.next(6);
            assert!((1..=6).contains(&n));
        }
    }
}
