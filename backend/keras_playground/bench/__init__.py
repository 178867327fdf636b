"""The benchmarks, `keras-playground bench`; they sit at the top, beside app and cli.

- engine:  the compiled epoch loop against model.fit, in one process (`bench`)
- cnn:     the same on the digits CNN, with a frame's size (`bench`, its CNN row)
- unet:    the same on the suggested `nuclei` U-Net, on new patches each epoch (`bench`, its U-Net row)
- server:  N participants pressing Train at once on a real server (`bench --server`)
- lab:     the same class on the embedded server vs 1 vs 2 worker processes through
           Redis (`bench --lab`)
- page:    frames a second the participant's page draws in Debian's Chromium (`bench --page`)
- wall:    an epoch's delay from a participant's page to the class wall (`bench --wall`)
- harness: what they (and the tests) share: real server, worker and redis-server
           processes on free loopback ports, a process's memory and CPU, the reference
           workload, the Chromium path
"""
