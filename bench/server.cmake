# stekd fan-out load generator (a program, not a Google Benchmark): run by bench/fanout.py and
# bench/scale.py.
find_package(Boost 1.74 REQUIRED)
add_executable(fanout_client fanout_client.cc)
target_link_libraries(fanout_client PRIVATE stek_net CLI11::CLI11 Boost::headers OpenSSL::SSL)
