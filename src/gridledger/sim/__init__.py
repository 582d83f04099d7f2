"""`gridledger simulate`: a SimBench grid trading on the platform, interval by interval."""
