//! The benchmark tools as a component: a thin binding over `bench-tools`.

wit_bindgen::generate!({ world: "bench", path: "wit" });

struct Bench;

impl Guest for Bench {
    fn add(a: i64, b: i64) -> i64 {
        bench_tools::add(a, b)
    }
    fn sha256(data: String) -> String {
        bench_tools::sha256(&data)
    }
    fn transform(document: String) -> Result<String, String> {
        bench_tools::transform(&document)
    }
}

export!(Bench);
