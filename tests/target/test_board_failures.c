/*
 * test_board_failures.c — proof that a failure on an emulated board reaches
 * ctest. Built twice: FAIL_BY=assertion fails a cmocka assertion,
 * FAIL_BY=fault makes the processor fault. ctest expects both programs to
 * fail (WILL_FAIL), so if QEMU's exit status stopped carrying the program's,
 * or a fault hung until the timeout, these tests would report it.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define FAIL_BY_ASSERTION 1
#define FAIL_BY_FAULT     2

static void fails(void **state)
{
    (void)state;
#if FAIL_BY == FAIL_BY_ASSERTION
    assert_int_equal(1, 2);
#elif FAIL_BY == FAIL_BY_FAULT
    __builtin_trap();
#else
#error "FAIL_BY must be FAIL_BY_ASSERTION or FAIL_BY_FAULT"
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
