"""A Model Explorer extension for .pte files (pip install ptec[explorer]).

    model-explorer --extensions=ptec.explorer model.pte

shows each method's calls, with TOSABackend delegates (ptec's and ExecuTorch's)
opened into their TOSA operators and EthosUBackend delegates into the NPU
operations of their command streams (graphs.py). Model Explorer loads
`ptec.explorer.main`, which defines the adapter.
"""
