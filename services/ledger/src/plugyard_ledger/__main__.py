from plugyard_ledger.main import main

main()
