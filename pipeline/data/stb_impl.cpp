// The one translation unit that compiles stb's implementations (Debian libstb-dev headers).
// Built without aepipe's warning flags: this is third-party code we do not edit.
#include <cstdlib>

#define STB_IMAGE_IMPLEMENTATION
// stb_image reads parts of its decoder state it never wrote when a file is damaged (a JPEG
// scan selecting a Huffman table no DHT segment defined: data/image_integrity.cpp refuses
// those). Zeroed allocations make whatever such a read meets the same, in-range values on
// every run instead of heap garbage. Large buffers come from the kernel zeroed anyway.
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(pointer, size) std::realloc(pointer, size)
#define STBI_FREE(pointer) std::free(pointer)
#define STBI_NO_HDR
#define STBI_NO_LINEAR
#define STBI_FAILURE_USERMSG
#include <stb_image.h>

#define STB_IMAGE_RESIZE_IMPLEMENTATION
#include <stb_image_resize.h>

#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
