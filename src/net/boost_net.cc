// Boost.Asio's and Boost.Beast's implementation, compiled once for the whole tree instead of
// in every translation unit that includes them (BOOST_*_SEPARATE_COMPILATION, set by the
// stek_boost_net target for everything that links it). Halves the build of the network parts.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
