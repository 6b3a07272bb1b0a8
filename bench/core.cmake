# Core benchmarks: key-name lookup (KeyRing::find against a linear memcmp scan) and the
# derivation of K(d,e) per key and per ring. Run with scripts/bench.sh.
stek_benchmark(bench_core SOURCES core/lookup_bench.cc core/derive_bench.cc
  LIBS stek benchmark::benchmark_main OpenSSL::Crypto)
