# The ClientHello key-name extractor of ticket-aware routing, on arbitrary bytes.
stek_fuzz_target(route SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/route_fuzz.cc LIBS stek_route)
