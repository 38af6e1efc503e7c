# Installs the already-built tree into a scratch prefix, then configures, builds and runs a consumer
# project that only knows find_package(tapegrad). Any failing step fails the test.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "step failed (${rc}): ${ARGV}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()
run(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix})
run(${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/package/consumer -B ${WORK_DIR}/build
    -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build -j 2)
run(${WORK_DIR}/build/consumer)
# The user's doctest file: it must pass, and the case with a wrong backward must have printed
# gradcheck's report naming the faulty op (that case is should_fail, so it does not fail the run).
execute_process(COMMAND ${WORK_DIR}/build/consumer_grad_test RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "consumer_grad_test failed (${rc}):\n${out}\n${err}")
endif()
# At x = 0.7 the wrong backward gives x² = 0.49 where 3x² = 1.47 is right.
if(NOT out MATCHES "first op whose backward is wrong: 'bad_cube'[^\n]*backward gives 0.49, numeric differences give 1.47")
  message(FATAL_ERROR "consumer_grad_test did not report the wrong backward of 'bad_cube':\n${out}\n${err}")
endif()
message(STATUS "${out}")
