# The Debian packages (CPack DEB), built by scripts/package.sh:
#   stek         the programs, their man pages, /etc/stek's example configurations (conffiles),
#                the systemd units (installed disabled) and the stek system user (postinst)
#   libstek-dev  the "libstek" component of cmake/install.cmake: static libraries, headers, the
#                CMake package and stek.pc
# Why CPack and why two packages: docs/packaging.md. Included from the top-level CMakeLists.txt.
set(stek_pkg ${PROJECT_SOURCE_DIR}/packaging)

# Units under /usr/lib/systemd/system (Debian 12 is merged-/usr), configurations under /etc.
install(DIRECTORY ${stek_pkg}/systemd/ DESTINATION lib/systemd/system COMPONENT stek
  FILES_MATCHING PATTERN "*.service" PATTERN "*.path")
install(FILES ${stek_pkg}/etc/stekd.toml ${stek_pkg}/etc/stek-agent.toml
  DESTINATION /etc/stek COMPONENT stek PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
install(FILES ${PROJECT_SOURCE_DIR}/examples/stekd.toml ${PROJECT_SOURCE_DIR}/examples/stek-agent.toml
  DESTINATION share/doc/stek/examples COMPONENT stek)
# Rotation of /var/log/stek (stekd reopens its files on SIGHUP); a conffile like /etc/stek's.
install(FILES ${stek_pkg}/logrotate/stek DESTINATION /etc/logrotate.d COMPONENT stek)
# HAProxy's ticket-aware routing module (docs/routing.md), loaded by HAProxy's lua-load.
install(FILES ${PROJECT_SOURCE_DIR}/contrib/haproxy/stek_route.lua
  DESTINATION share/stek/haproxy COMPONENT stek)

# Man pages, made by `ninja man` (scripts/man.sh, go-md2man) into the build tree. OPTIONAL: a
# plain `cmake --install` without them still works; scripts/package.sh always makes them.
set(stek_man_dir ${PROJECT_BINARY_DIR}/man)
set(stek_man_pages stekd.8 stek-agent.8 stekctl.1 stek-scan.1 stek.toml.5)
set(stek_man_sources docs/stekd.md docs/stek-agent.md docs/stekctl.md docs/stek-scan.md
  docs/configuration.md)
list(TRANSFORM stek_man_sources PREPEND ${PROJECT_SOURCE_DIR}/)
set(stek_man_outputs ${stek_man_pages})
list(TRANSFORM stek_man_outputs PREPEND ${stek_man_dir}/)
add_custom_command(OUTPUT ${stek_man_outputs}
  COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/man.sh ${stek_man_dir} >/dev/null
  DEPENDS ${stek_man_sources} ${PROJECT_SOURCE_DIR}/scripts/man.sh
  COMMENT "Man pages from docs/ (go-md2man)")
add_custom_target(man DEPENDS ${stek_man_outputs})
foreach(page ${stek_man_pages})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  install(FILES ${stek_man_dir}/${page} DESTINATION share/man/man${section} COMPONENT stek
    OPTIONAL)
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME stek)
set(CPACK_PACKAGE_VENDOR "stek")
set(CPACK_PACKAGE_CONTACT "stek maintainers <stek@localhost>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL stek libstek)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Shared-library dependencies from dpkg-shlibdeps (libssl3, libspdlog, libsystemd0, ...).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)

set(CPACK_DEBIAN_STEK_PACKAGE_NAME stek)
# procps: /bin/kill for the units' ExecReload= (SIGHUP).
set(CPACK_DEBIAN_STEK_PACKAGE_DEPENDS "adduser, procps")
set(CPACK_DEBIAN_STEK_PACKAGE_SUGGESTS "nginx | haproxy | apache2 | h2o")
set(CPACK_COMPONENT_STEK_DESCRIPTION
  "TLS session ticket key manager: key server, agent and tools\n stekd makes TLS session ticket keys for every domain of a fleet and hands each\n authenticated stek-agent its domain's ring; stek-agent feeds nginx, HAProxy, Apache,\n Traffic Server, h2o or any command. stekctl and stek-scan are the tools.\n The systemd units are installed disabled.")
set(CPACK_DEBIAN_STEK_PACKAGE_CONTROL_EXTRA
  ${stek_pkg}/debian/postinst ${stek_pkg}/debian/prerm ${stek_pkg}/debian/postrm
  ${stek_pkg}/debian/conffiles)
set(CPACK_DEBIAN_STEK_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_LIBSTEK_PACKAGE_NAME libstek-dev)
set(CPACK_DEBIAN_LIBSTEK_PACKAGE_SECTION libdevel)
set(CPACK_DEBIAN_LIBSTEK_PACKAGE_DEPENDS "libssl-dev, libyaml-cpp-dev")
set(CPACK_COMPONENT_LIBSTEK_DESCRIPTION
  "stek's library for OpenSSL servers (static, headers, CMake and pkg-config files)\n libstek gives an OpenSSL server stek's session ticket keys from a ring file that\n stek-agent keeps fresh: find_package(stek) and stek::openssl, or pkg-config stek.")
include(CPack)
