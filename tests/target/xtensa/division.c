/*
 * division.c — integer division and 64-bit multiplication for lx106 test
 * programs. On the ESP8266
 * these helpers live in mask ROM, and Debian's lx106 libgcc leaves them out;
 * the tests (and the C library's printf) need them. Binary long division:
 * slow, small and obviously right, which is all a test needs.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>

uint32_t __udivsi3(uint32_t dividend, uint32_t divisor);
uint32_t __umodsi3(uint32_t dividend, uint32_t divisor);
int32_t __divsi3(int32_t dividend, int32_t divisor);
int32_t __modsi3(int32_t dividend, int32_t divisor);
uint64_t __udivdi3(uint64_t dividend, uint64_t divisor);
uint64_t __umoddi3(uint64_t dividend, uint64_t divisor);
int64_t __divdi3(int64_t dividend, int64_t divisor);
int64_t __moddi3(int64_t dividend, int64_t divisor);
uint64_t __muldi3(uint64_t a, uint64_t b);

/* Quotient of dividend / divisor; the remainder in *remainder. */
static uint64_t long_division(uint64_t dividend, uint64_t divisor, uint64_t *remainder)
{
    uint64_t quotient = 0;
    uint64_t partial = 0;
    for (int bit = 63; bit >= 0; bit--) {
        partial = (partial << 1) | ((dividend >> bit) & 1u);
        if (partial >= divisor) {
            partial -= divisor;
            quotient |= (uint64_t)1 << bit;
        }
    }
    *remainder = partial;
    return quotient;
}

static uint64_t magnitude(int64_t value)
{
    return value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
}

uint64_t __udivdi3(uint64_t dividend, uint64_t divisor)
{
    uint64_t remainder;
    return long_division(dividend, divisor, &remainder);
}

uint64_t __umoddi3(uint64_t dividend, uint64_t divisor)
{
    uint64_t remainder;
    long_division(dividend, divisor, &remainder);
    return remainder;
}

int64_t __divdi3(int64_t dividend, int64_t divisor)
{
    uint64_t quotient = __udivdi3(magnitude(dividend), magnitude(divisor));
    return (dividend < 0) != (divisor < 0) ? -(int64_t)quotient : (int64_t)quotient;
}

int64_t __moddi3(int64_t dividend, int64_t divisor)
{
    uint64_t remainder = __umoddi3(magnitude(dividend), magnitude(divisor));
    return dividend < 0 ? -(int64_t)remainder : (int64_t)remainder;
}

uint32_t __udivsi3(uint32_t dividend, uint32_t divisor)
{
    return (uint32_t)__udivdi3(dividend, divisor);
}

uint32_t __umodsi3(uint32_t dividend, uint32_t divisor)
{
    return (uint32_t)__umoddi3(dividend, divisor);
}

int32_t __divsi3(int32_t dividend, int32_t divisor)
{
    return (int32_t)__divdi3(dividend, divisor);
}

int32_t __modsi3(int32_t dividend, int32_t divisor)
{
    return (int32_t)__moddi3(dividend, divisor);
}

/* Shift and add. */
uint64_t __muldi3(uint64_t a, uint64_t b)
{
    uint64_t product = 0;
    for (; b != 0; b >>= 1, a <<= 1) {
        if (b & 1u) {
            product += a;
        }
    }
    return product;
}
