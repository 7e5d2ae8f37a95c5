//! `git_log`'s entries: commits reachable from `HEAD`, newest commit date
//! first, filtered by committer date as `git log --since/--until` filters
//! them, each printed as the original prints GitPython's commit (author
//! name, author date as Python prints a zoned datetime, whole message). The
//! dates are read in git's approximate forms the tool's description offers.

use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;
use jiff::civil::{Date, DateTime};
use jiff::tz::{Offset, TimeZone};
use jiff::{Span, Timestamp, ToSpan, Zoned};

/// Up to `max_count` entries, after the date filters.
pub fn entries(
    repo: &gix::Repository,
    max_count: i64,
    since: Option<&str>,
    until: Option<&str>,
) -> Result<Vec<String>, String> {
    let now = Zoned::now().with_time_zone(TimeZone::UTC);
    let since = since.map(|text| approxidate(text, &now)).transpose()?;
    let until = until.map(|text| approxidate(text, &now)).transpose()?;
    let Ok(head) = repo.head_id() else {
        // GitPython runs `git rev-list HEAD`, which fails on an unborn branch.
        return Err(unborn_error(repo));
    };
    let walk = repo
        .rev_walk([head.detach()])
        .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
        .all()
        .map_err(|e| e.to_string())?;
    let limit = usize::try_from(max_count).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    for info in walk {
        if max_count >= 0 && out.len() >= limit {
            break;
        }
        let info = info.map_err(|e| e.to_string())?;
        let commit = info.object().map_err(|e| e.to_string())?;
        let committed = commit.time().map_err(|e| e.to_string())?.seconds;
        if since.is_some_and(|since| committed < since) || until.is_some_and(|until| committed > until) {
            continue;
        }
        let author = commit.author().map_err(|e| e.to_string())?;
        let time = author.time().map_err(|e| e.to_string())?;
        let message = String::from_utf8_lossy(commit.message_raw_sloppy()).into_owned();
        out.push(format!(
            "Commit: {}\nAuthor: {}\nDate: {}\nMessage: {}\n",
            commit.id,
            author.name,
            python_datetime(time.seconds, time.offset),
            message
        ));
    }
    Ok(out)
}

/// GitPython's words for a `HEAD` whose branch has no commit yet.
fn unborn_error(repo: &gix::Repository) -> String {
    let branch = repo.head_name().ok().flatten().map(|name| name.as_bstr().to_string()).unwrap_or_default();
    format!("Reference at '{branch}' does not exist")
}

/// A moment as Python's `str(datetime)` prints an aware datetime:
/// `2024-01-15 14:30:25+01:00`.
pub fn python_datetime(seconds: i64, offset: i32) -> String {
    let zoned = zoned(seconds, offset);
    let minutes = offset.abs() / 60;
    let sign = if offset < 0 { '-' } else { '+' };
    format!("{}{sign}{:02}:{:02}", zoned.strftime("%Y-%m-%d %H:%M:%S"), minutes / 60, minutes % 60)
}

/// A moment in its own UTC offset.
pub fn zoned(seconds: i64, offset: i32) -> Zoned {
    let offset = Offset::from_seconds(offset).unwrap_or(Offset::UTC);
    Timestamp::from_second(seconds).unwrap_or(Timestamp::UNIX_EPOCH).to_zoned(TimeZone::fixed(offset))
}

/// Seconds since the epoch for one of git's approximate dates: an ISO 8601
/// date or date and time, a month-name date (`Jan 15 2024`, `15 January
/// 2024`), `now`, `today`, `yesterday`, or `N units ago`. As git does, a
/// date without a time keeps the time of day of `now`; a time without a
/// zone is UTC, the component's only zone.
pub fn approxidate(text: &str, now: &Zoned) -> Result<i64, String> {
    let lower = text.trim().to_ascii_lowercase();
    let moment = match lower.as_str() {
        "now" | "today" => Some(now.clone()),
        "yesterday" => now.checked_sub(1.day()).ok(),
        _ => relative(&lower, now).or_else(|| absolute(text.trim(), now)),
    };
    moment.map(|m| m.timestamp().as_second()).ok_or_else(|| format!("could not read the date '{text}'"))
}

/// `N units ago` (also `N.units.ago`, git's other spelling).
fn relative(text: &str, now: &Zoned) -> Option<Zoned> {
    let words: Vec<&str> =
        text.split(|c: char| c.is_whitespace() || c == '.').filter(|w| !w.is_empty()).collect();
    let [count, unit, "ago"] = words.as_slice() else { return None };
    let count: i64 = count.parse().ok()?;
    let unit = unit.strip_suffix('s').unwrap_or(unit);
    let span: Span = match unit {
        "second" | "sec" => count.seconds(),
        "minute" | "min" => count.minutes(),
        "hour" => count.hours(),
        "day" => count.days(),
        "week" => count.weeks(),
        "month" => count.months(),
        "year" => count.years(),
        _ => return None,
    };
    now.checked_sub(span).ok()
}

/// An ISO 8601 date and time, or a date in one of the forms git reads.
fn absolute(text: &str, now: &Zoned) -> Option<Zoned> {
    if let Ok(zoned) = text.parse::<Zoned>() {
        return Some(zoned);
    }
    if let Ok(timestamp) = text.parse::<Timestamp>() {
        return Some(timestamp.to_zoned(TimeZone::UTC));
    }
    if let Ok(civil) = text.replacen(' ', "T", 1).parse::<DateTime>()
        && text.contains(':')
    {
        return civil.to_zoned(TimeZone::UTC).ok();
    }
    let date = text.parse::<Date>().ok().or_else(|| month_name_date(text))?;
    date.to_datetime(now.time()).to_zoned(TimeZone::UTC).ok()
}

/// `Jan 15 2024`, `January 15, 2024` or `15 Jan 2024`.
fn month_name_date(text: &str) -> Option<Date> {
    const MONTHS: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let words: Vec<String> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let month_of = |word: &str| MONTHS.iter().position(|m| word.len() >= 3 && m.starts_with(&word[..3]));
    let (month, day, year) = match words.as_slice() {
        [m, d, y] if month_of(m).is_some() => (month_of(m)?, d.parse::<i8>().ok()?, y.parse::<i16>().ok()?),
        [d, m, y] if month_of(m).is_some() => (month_of(m)?, d.parse::<i8>().ok()?, y.parse::<i16>().ok()?),
        _ => return None,
    };
    Date::new(year, month as i8 + 1, day).ok()
}
