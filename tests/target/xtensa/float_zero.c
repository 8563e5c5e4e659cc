/*
 * float_zero.c — the floating-point helpers cmocka's object code refers to
 * on lx106, whose libgcc in Debian leaves them out (the ESP8266 has them in
 * mask ROM). cmocka adds up test run times, which are all zero here (the
 * board has no clock it reads), and compares floats only in
 * assert_float_equal, which the suites do not use. So these are exact when
 * an operand is zero, and any other use stops the program with a message:
 * a wrong result is never returned.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

float __addsf3(float a, float b);
float __subsf3(float a, float b);
float __mulsf3(float a, float b);
double __adddf3(double a, double b);
double __extendsfdf2(float a);

static _Noreturn void unsupported(const char *helper)
{
    printf("target: %s with non-zero operands is not available on this board\n", helper);
    fflush(stdout);
    _exit(134);
}

static int float_is_zero(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof(bits));
    return (bits & 0x7FFFFFFFu) == 0;
}

static int double_is_zero(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof(bits));
    return (bits & 0x7FFFFFFFFFFFFFFFull) == 0;
}

static float float_negated(float value)
{
    uint32_t bits;
    memcpy(&bits, &value, sizeof(bits));
    bits ^= 0x80000000u;
    memcpy(&value, &bits, sizeof(bits));
    return value;
}

float __addsf3(float a, float b)
{
    if (float_is_zero(b)) {
        return a;
    }
    if (float_is_zero(a)) {
        return b;
    }
    unsupported("float addition");
}

float __subsf3(float a, float b)
{
    if (float_is_zero(b)) {
        return a;
    }
    if (float_is_zero(a)) {
        return float_negated(b);
    }
    unsupported("float subtraction");
}

float __mulsf3(float a, float b)
{
    uint32_t x, y;
    memcpy(&x, &a, sizeof(x));
    memcpy(&y, &b, sizeof(y));
    const uint32_t exponent = 0x7F800000u; /* all ones: infinity or NaN */
    if ((float_is_zero(a) && (y & exponent) != exponent) ||
        (float_is_zero(b) && (x & exponent) != exponent)) {
        uint32_t sign = (x ^ y) & 0x80000000u;
        float zero;
        memcpy(&zero, &sign, sizeof(zero));
        return zero;
    }
    unsupported("float multiplication");
}

double __adddf3(double a, double b)
{
    if (double_is_zero(b)) {
        return a;
    }
    if (double_is_zero(a)) {
        return b;
    }
    unsupported("double addition");
}

double __extendsfdf2(float a)
{
    if (float_is_zero(a)) {
        uint32_t bits;
        memcpy(&bits, &a, sizeof(bits));
        uint64_t wide = (uint64_t)(bits & 0x80000000u) << 32;
        double result;
        memcpy(&result, &wide, sizeof(result));
        return result;
    }
    unsupported("float to double conversion");
}
