# The parsers of etcd's JSON gateway answers that stekd reads (src/server/etcd_wire.h).
# Seed corpus: corpus/etcd/.
stek_fuzz_target(etcd SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/etcd/etcd_wire_fuzz.cc LIBS stek_server)
