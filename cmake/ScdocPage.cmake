# Builds one man page: cmake -DSCDOC=scdoc -DINPUT=x.1.scd -DOUTPUT=x.1 -P ScdocPage.cmake
# Through a temp file, so a failed scdoc leaves no empty page behind.
execute_process(COMMAND ${SCDOC} INPUT_FILE ${INPUT} OUTPUT_FILE ${OUTPUT}.tmp RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  file(REMOVE ${OUTPUT}.tmp)
  message(FATAL_ERROR "scdoc failed on ${INPUT}")
endif()
file(RENAME ${OUTPUT}.tmp ${OUTPUT})
