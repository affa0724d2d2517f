/* standalone.h - included last by each fuzz target: built with -DJR_FUZZ_STANDALONE (any
 * compiler, no libFuzzer), the target runs the files named on its command line once each, to
 * replay a crash or a corpus. */
#ifdef JR_FUZZ_STANDALONE
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 20];
	int i;

	for (i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		size_t n;

		if (!f) {
			perror(argv[i]);
			return 1;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		LLVMFuzzerTestOneInput(buf, n);
	}
	printf("%d inputs ran\n", argc - 1);
	return 0;
}
#endif
