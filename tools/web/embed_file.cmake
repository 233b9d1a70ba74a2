# cmake -DINPUT=file -DOUTPUT=header -DNAME=identifier -P embed_file.cmake
# Writes INPUT's bytes into OUTPUT as `inline constexpr unsigned char NAME[]`, so
# the binary carries the file and never looks it up at run time.
file(READ "${INPUT}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
get_filename_component(source "${INPUT}" NAME)
file(WRITE "${OUTPUT}.tmp"
     "// Generated from ${source} by embed_file.cmake; do not edit.\n#pragma once\n\n"
     "inline constexpr unsigned char ${NAME}[] = {\n${bytes}\n};\n")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
