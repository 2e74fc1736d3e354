from plugyard_marketplace.main import main

main()
