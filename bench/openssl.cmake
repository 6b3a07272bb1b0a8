# libstek benchmarks: ticket seal/open against raw EVP calls (the floor), and resumed
# handshakes over 127.0.0.1 against OpenSSL's built-in ticket keys in the same binary, with
# rings of 3/20/1000 keys, ring swaps every 100 ms, and the STEK-less trade-off. Run with
# scripts/bench.sh; figures in docs/performance.md.
stek_benchmark(bench_openssl SOURCES openssl/ticket_bench.cc openssl/handshake_bench.cc
  LIBS stek_openssl stek_openssl_testing benchmark::benchmark_main)
