// Declarations only; see ../README.
#pragma once
