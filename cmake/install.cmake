# Install rules: library, headers, CMake package (find_package(heapcaps)) and
# pkg-config file.
# SPDX-License-Identifier: Apache-2.0
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS heapcaps EXPORT heapcapsTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${HEAPCAPS_GENERATED_INCLUDE}/heapcaps/config.h
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/heapcaps)
install(EXPORT heapcapsTargets NAMESPACE heapcaps::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/heapcaps)

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/heapcapsConfig.cmake.in
  ${PROJECT_BINARY_DIR}/heapcapsConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/heapcaps)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/heapcapsConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/heapcapsConfig.cmake
              ${PROJECT_BINARY_DIR}/heapcapsConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/heapcaps)

# The .pc file finds its prefix relative to its own directory (${pcfiledir}),
# so it stays right for `cmake --install --prefix DIR` and for a moved
# install tree. CMAKE_INSTALL_PREFIX is overridden only inside the function.
function(heapcaps_configure_pc_file)
  if(NOT IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}" AND NOT IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    file(RELATIVE_PATH up "/p/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/p")
    string(REGEX REPLACE "/+$" "" up "${up}")
    set(CMAKE_INSTALL_PREFIX "\${pcfiledir}/${up}")
  endif()
  configure_file(${PROJECT_SOURCE_DIR}/cmake/heapcaps.pc.in ${PROJECT_BINARY_DIR}/heapcaps.pc @ONLY)
endfunction()
heapcaps_configure_pc_file()
install(FILES ${PROJECT_BINARY_DIR}/heapcaps.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

if(HEAPCAPS_BUILD_TOOLS)
  install(TARGETS heapcaps_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
