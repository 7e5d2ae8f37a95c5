// The benchmark's trivial tool in JavaScript (see wit/world.wit). s64 values
// arrive as BigInt.
export function add(a, b) {
  return a + b;
}
