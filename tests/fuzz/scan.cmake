# stek-scan parses what servers send: tickets (layout, all-zero-key trial), NewSessionTicket
# messages, and the first records of a server's reply (ServerHello, HelloRetryRequest, alerts).
stek_fuzz_target(scan SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/scan_fuzz.cc LIBS stek_scan_parse)
