# Embeds text files (schema migrations, named queries, rules) into the binary as a sorted
# table of {name, text}, so the tool never depends on files next to it at run time.
# BASE (optional): names are paths relative to it ("haw-004/x.yml"), not bare file names.
function(treeline_embed target_name namespace)
  cmake_parse_arguments(EMB "" "BASE" "FILES" ${ARGN})
  set(out_cpp "${CMAKE_CURRENT_BINARY_DIR}/${target_name}.cpp")
  add_custom_command(
    OUTPUT "${out_cpp}"
    COMMAND ${CMAKE_COMMAND} -DOUT=${out_cpp} -DNAMESPACE=${namespace} "-DBASE=${EMB_BASE}"
            "-DFILES=${EMB_FILES}" -P "${PROJECT_SOURCE_DIR}/cmake/EmbedScript.cmake"
    DEPENDS ${EMB_FILES} "${PROJECT_SOURCE_DIR}/cmake/EmbedScript.cmake"
    COMMENT "Embedding ${target_name}"
    VERBATIM)
  set(${target_name}_SOURCE "${out_cpp}" PARENT_SCOPE)
endfunction()
