# The stekd protocol's parsers of untrusted text (src/api): request query strings and the
# keyring query, the percent codec, HOST:PORT, ring versions and certificate URI SANs.
# Seed corpus: corpus/api/.
stek_fuzz_target(api SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/api/api_fuzz.cc LIBS stek_api)
