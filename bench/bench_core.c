/* SPDX-License-Identifier: BSD-2-Clause */
/* Placeholder; the core benchmark replaces this file. */
int main(void) { return 0; }
