//! The time tools of PyPI's `mcp-server-time`, as a sandboxed component:
//! `get-current-time` and `convert-time` over IANA zone names, with the same
//! results and the same error texts (without the SDK's "Error executing tool"
//! prefix). The zone database is chrono-tz's, compiled in; the clock is
//! WASI's wall clock, the component's only import that is not a stub.

wit_bindgen::generate!({ world: "time", path: "wit" });

use chrono::{DateTime, LocalResult, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::{OffsetComponents, Tz};

struct Time;

impl Guest for Time {
    fn get_current_time(timezone: String) -> Result<TimeResult, String> {
        let zone = zone("timezone", &timezone)?;
        Ok(moment(&timezone, &Utc::now().with_timezone(&zone)))
    }

    fn convert_time(
        source_timezone: String,
        time: String,
        target_timezone: String,
    ) -> Result<TimeConversionResult, String> {
        let source_zone = zone("source_timezone", &source_timezone)?;
        let target_zone = zone("target_timezone", &target_timezone)?;
        let wall = wall_clock(&time).ok_or("Invalid time format. Expected HH:MM [24-hour format]")?;
        let today = Utc::now().with_timezone(&source_zone).date_naive();
        let source = match source_zone.from_local_datetime(&today.and_time(wall)) {
            LocalResult::Single(at) | LocalResult::Ambiguous(at, _) => at,
            LocalResult::None => {
                return Err(format!(
                    "Invalid time: {time} does not exist in {source_timezone} on {today} (skipped by a clock change)"
                ));
            }
        };
        let target = source.with_timezone(&target_zone);
        let seconds = target.offset().fix().local_minus_utc() - source.offset().fix().local_minus_utc();
        Ok(TimeConversionResult {
            source: moment(&source_timezone, &source),
            target: moment(&target_timezone, &target),
            time_difference: hours(f64::from(seconds) / 3600.0),
        })
    }
}

/// The zone named `name` (an exact IANA key), refused as the original
/// refuses it: an empty name is a missing argument, a path-shaped one gets
/// zoneinfo's path message, any other unknown one zoneinfo's key message.
fn zone(argument: &str, name: &str) -> Result<Tz, String> {
    if name.is_empty() {
        return Err(format!("Missing required argument: {argument}"));
    }
    if let Some(problem) = path_problem(name) {
        return Err(format!("Invalid timezone: {problem}, got: {name}"));
    }
    name.parse::<Tz>().map_err(|_| format!("Invalid timezone: 'No time zone found with key {name}'"))
}

/// What zoneinfo says of a key that is not a plain relative path.
fn path_problem(name: &str) -> Option<&'static str> {
    if name.starts_with('/') {
        return Some("ZoneInfo keys may not be absolute paths");
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|last| *last != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let normal = if parts.is_empty() { ".".to_string() } else { parts.join("/") };
    if normal.len() != name.len() {
        return Some("ZoneInfo keys must be normalized relative paths");
    }
    (normal == ".." || normal.starts_with("../"))
        .then_some("ZoneInfo keys must refer to subdirectories of TZPATH")
}

/// `H:MM` or `HH:MM` (one or two digits each), as `strptime("%H:%M")` reads it.
fn wall_clock(text: &str) -> Option<NaiveTime> {
    let (hour, minute) = text.split_once(':')?;
    let number = |part: &str| {
        (matches!(part.len(), 1 | 2) && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse::<u32>().ok())?
    };
    NaiveTime::from_hms_opt(number(hour)?, number(minute)?, 0)
}

fn moment(name: &str, at: &DateTime<Tz>) -> TimeResult {
    TimeResult {
        timezone: name.to_string(),
        datetime: at.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        day_of_week: at.format("%A").to_string(),
        is_dst: at.offset().dst_offset().num_seconds() != 0,
    }
}

/// `+9.0h`, `-3.5h`, `+5.75h`: Python's `{:+.1f}` for whole hours, else
/// `{:+.2f}` without trailing zeros.
fn hours(difference: f64) -> String {
    if difference.fract() == 0.0 {
        format!("{difference:+.1}h")
    } else {
        let text = format!("{difference:+.2}");
        format!("{}h", text.trim_end_matches('0').trim_end_matches('.'))
    }
}

export!(Time);
