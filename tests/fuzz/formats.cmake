# Fuzz targets for libstek's parsers (see formats/): every key file reader, format
# detection, the hex/base64 codecs and domain ids, and KeyRing validation and re-roling.
# Seed corpora: corpus/<name>/. Long run: scripts/fuzz.sh run <name> [seconds].
foreach(target formats detect codecs keyring)
  stek_fuzz_target(${target} SOURCES formats/${target}_fuzz.cc LIBS stek)
endforeach()
