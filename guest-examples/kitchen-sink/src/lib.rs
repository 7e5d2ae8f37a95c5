//! Echoes every WIT type: the fixture of the host's conversion tests.

wit_bindgen::generate!({ world: "kitchen-sink", path: "wit" });

use std::cell::Cell;

use exports::moat_examples::kitchen_sink::stateful::{self, GuestCounter};

struct KitchenSink;

struct Counter(Cell<u32>);

impl GuestCounter for Counter {
    fn new() -> Self {
        Counter(Cell::new(0))
    }
    fn increment(&self) -> u32 {
        self.0.set(self.0.get() + 1);
        self.0.get()
    }
}

impl stateful::Guest for KitchenSink {
    type Counter = Counter;
    fn new_counter() -> stateful::Counter {
        stateful::Counter::new(Counter::new())
    }
    fn version() -> String {
        env!("CARGO_PKG_VERSION").to_string()
    }
}

impl Guest for KitchenSink {
    fn echo_bool(x: bool) -> bool {
        x
    }
    fn echo_s8(x: i8) -> i8 {
        x
    }
    fn echo_u8(x: u8) -> u8 {
        x
    }
    fn echo_s16(x: i16) -> i16 {
        x
    }
    fn echo_u16(x: u16) -> u16 {
        x
    }
    fn echo_s32(x: i32) -> i32 {
        x
    }
    fn echo_u32(x: u32) -> u32 {
        x
    }
    fn echo_s64(x: i64) -> i64 {
        x
    }
    fn echo_u64(x: u64) -> u64 {
        x
    }
    fn echo_f32(x: f32) -> f32 {
        x
    }
    fn echo_f64(x: f64) -> f64 {
        x
    }
    fn echo_char(x: char) -> char {
        x
    }
    fn echo_string(x: String) -> String {
        x
    }
    fn echo_list(x: Vec<u32>) -> Vec<u32> {
        x
    }
    fn echo_point(x: Point) -> Point {
        x
    }
    fn echo_tuple(x: (u8, String, bool)) -> (u8, String, bool) {
        x
    }
    fn echo_shape(x: Shape) -> Shape {
        x
    }
    fn echo_color(x: Color) -> Color {
        x
    }
    fn echo_option(x: Option<String>) -> Option<String> {
        x
    }
    fn echo_result(x: Result<u32, String>) -> Result<u32, String> {
        x
    }
    fn echo_flags(x: Permissions) -> Permissions {
        x
    }
    fn echo_everything(x: Everything) -> Everything {
        x
    }
    fn nothing() {}
    fn not_a_number() -> f64 {
        f64::NAN
    }
    fn maybe_maybe(x: Option<Option<u8>>) -> u8 {
        x.flatten().unwrap_or(0)
    }
}

export!(KitchenSink);
