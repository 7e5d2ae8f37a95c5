//! Unit conversion as a moat tool: linear units by factor, temperatures by formula.

wit_bindgen::generate!({ world: "units", path: "wit" });

struct Units;

/// (symbol, dimension, factor to the dimension's base unit). Temperatures are
/// handled separately: they need an offset, not just a factor.
const UNITS: &[(&str, Dimension, f64)] = &[
    ("m", Dimension::Length, 1.0),
    ("km", Dimension::Length, 1000.0),
    ("cm", Dimension::Length, 0.01),
    ("mm", Dimension::Length, 0.001),
    ("mi", Dimension::Length, 1609.344),
    ("yd", Dimension::Length, 0.9144),
    ("ft", Dimension::Length, 0.3048),
    ("in", Dimension::Length, 0.0254),
    ("nmi", Dimension::Length, 1852.0),
    ("kg", Dimension::Mass, 1.0),
    ("g", Dimension::Mass, 0.001),
    ("mg", Dimension::Mass, 0.000_001),
    ("t", Dimension::Mass, 1000.0),
    ("lb", Dimension::Mass, 0.453_592_37),
    ("oz", Dimension::Mass, 0.028_349_523_125),
    ("l", Dimension::Volume, 1.0),
    ("ml", Dimension::Volume, 0.001),
    ("m3", Dimension::Volume, 1000.0),
    ("gal", Dimension::Volume, 3.785_411_784),
    ("qt", Dimension::Volume, 0.946_352_946),
    ("cup", Dimension::Volume, 0.236_588_236_5),
    ("m/s", Dimension::Speed, 1.0),
    ("km/h", Dimension::Speed, 1.0 / 3.6),
    ("mph", Dimension::Speed, 0.447_04),
    ("kn", Dimension::Speed, 1852.0 / 3600.0),
    ("B", Dimension::Data, 1.0),
    ("kB", Dimension::Data, 1e3),
    ("MB", Dimension::Data, 1e6),
    ("GB", Dimension::Data, 1e9),
    ("TB", Dimension::Data, 1e12),
    ("KiB", Dimension::Data, 1024.0),
    ("MiB", Dimension::Data, 1024.0 * 1024.0),
    ("GiB", Dimension::Data, 1024.0 * 1024.0 * 1024.0),
    ("TiB", Dimension::Data, 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("ms", Dimension::Duration, 0.001),
    ("s", Dimension::Duration, 1.0),
    ("min", Dimension::Duration, 60.0),
    ("h", Dimension::Duration, 3600.0),
    ("d", Dimension::Duration, 86400.0),
    ("wk", Dimension::Duration, 604_800.0),
];

const TEMPERATURES: &[&str] = &["C", "F", "K"];

fn to_kelvin(value: f64, unit: &str) -> f64 {
    match unit {
        "C" => value + 273.15,
        "F" => (value - 32.0) * 5.0 / 9.0 + 273.15,
        _ => value,
    }
}

fn from_kelvin(kelvin: f64, unit: &str) -> f64 {
    match unit {
        "C" => kelvin - 273.15,
        "F" => (kelvin - 273.15) * 9.0 / 5.0 + 32.0,
        _ => kelvin,
    }
}

fn linear(symbol: &str) -> Option<(Dimension, f64)> {
    UNITS.iter().find(|(s, _, _)| *s == symbol).map(|(_, d, f)| (*d, *f))
}

fn name(dimension: Dimension) -> &'static str {
    match dimension {
        Dimension::Length => "length",
        Dimension::Mass => "mass",
        Dimension::Temperature => "temperature",
        Dimension::Volume => "volume",
        Dimension::Speed => "speed",
        Dimension::Data => "data size",
        Dimension::Duration => "duration",
    }
}

fn unknown(symbol: &str) -> String {
    format!("unknown unit `{symbol}` (units are case-sensitive symbols such as km, lb, C, MiB)")
}

impl Guest for Units {
    fn convert(value: f64, from: String, to: String) -> Result<Conversion, String> {
        if !value.is_finite() {
            return Err("the value must be a finite number".into());
        }
        let (from, to) = (from.trim(), to.trim());
        if TEMPERATURES.contains(&from) || TEMPERATURES.contains(&to) {
            if !(TEMPERATURES.contains(&from) && TEMPERATURES.contains(&to)) {
                return Err(format!(
                    "cannot convert between `{from}` and `{to}`: only temperatures convert to temperatures"
                ));
            }
            let kelvin = to_kelvin(value, from);
            if kelvin < 0.0 {
                return Err("that temperature is below absolute zero".into());
            }
            return Ok(Conversion {
                value: from_kelvin(kelvin, to),
                unit: to.into(),
                dimension: Dimension::Temperature,
            });
        }
        let (from_dim, from_factor) = linear(from).ok_or_else(|| unknown(from))?;
        let (to_dim, to_factor) = linear(to).ok_or_else(|| unknown(to))?;
        if from_dim != to_dim {
            return Err(format!("cannot convert `{from}` ({}) to `{to}` ({})", name(from_dim), name(to_dim)));
        }
        Ok(Conversion { value: value * from_factor / to_factor, unit: to.into(), dimension: to_dim })
    }

    fn units_of(dimension: Dimension) -> Vec<String> {
        if dimension == Dimension::Temperature {
            return TEMPERATURES.iter().map(|s| s.to_string()).collect();
        }
        UNITS.iter().filter(|(_, d, _)| *d == dimension).map(|(s, _, _)| s.to_string()).collect()
    }
}

export!(Units);
