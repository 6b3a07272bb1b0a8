# cmake --install: libstek's static libraries, its headers, a CMake package (find_package(stek),
# targets stek::openssl for OpenSSL servers and stek::stek for the key schedule, rings and
# formats alone) and a pkg-config file (stek.pc), all in the component "libstek":
#   cmake --install build --component libstek --prefix /usr/local
# Included from the top-level CMakeLists.txt.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(stek_installed_libs stek_openssl stek_io stek_formats stek_crypto stek_core)
set_target_properties(stek_core PROPERTIES EXPORT_NAME core)
set_target_properties(stek_crypto PROPERTIES EXPORT_NAME crypto)
set_target_properties(stek_formats PROPERTIES EXPORT_NAME formats)
set_target_properties(stek_io PROPERTIES EXPORT_NAME io)
set_target_properties(stek_openssl PROPERTIES EXPORT_NAME openssl)
set_target_properties(stek_warnings PROPERTIES EXPORT_NAME warnings)
# The headers are found in the source tree while building and under the prefix once installed.
target_include_directories(stek_core INTERFACE
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# stek_warnings only carries compile options for stek's own files; static libraries list their
# private dependencies in the export, so it is exported too (it gives consumers nothing).
install(TARGETS ${stek_installed_libs} stek stek_warnings EXPORT stekTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR} COMPONENT libstek
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/stek DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  COMPONENT libstek FILES_MATCHING PATTERN "*.h")
install(EXPORT stekTargets NAMESPACE stek:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stek
  COMPONENT libstek)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/stekConfig.cmake.in
  ${PROJECT_BINARY_DIR}/stekConfig.cmake INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stek)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/stekConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/stekConfig.cmake ${PROJECT_BINARY_DIR}/stekConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/stek COMPONENT libstek)

# pkg-config: the libraries in link order (static: every one is needed), OpenSSL and yaml-cpp.
set(stek_pc_libs "")
foreach(lib ${stek_installed_libs})
  string(APPEND stek_pc_libs " -l${lib}")
endforeach()
# Relocatable: the prefix is found from the .pc file's own place, so --prefix at install works.
file(RELATIVE_PATH stek_pc_to_prefix "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
string(REGEX REPLACE "/$" "" stek_pc_to_prefix "${stek_pc_to_prefix}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/stek.pc.in ${PROJECT_BINARY_DIR}/stek.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/stek.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig
  COMPONENT libstek)
